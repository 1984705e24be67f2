"""Wire shapes of seed 002 (period limits).

Two readings of a limits entry share one model (see docs/limits.md):

* absolute (``recurrent`` false, no ``valid_from``/``valid_until``): ``start_time`` and
  ``end_time`` are instants; the entry covers ``[start_time, end_time)``;
* recurrent (``recurrent`` true, or ``valid_from``/``valid_until`` given): ``start_time`` and
  ``end_time`` are a UTC time-of-day window (``"08:00"``, ``"08:00:00Z"``, or a date-time of
  which only the UTC time of day counts), repeated on every UTC day of
  ``[valid_from, valid_until]``. ``end_time <= start_time`` wraps past midnight (``22:00``-``06:00``;
  ``00:00``-``00:00`` is the whole day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from gridcommons.describe import explained_enum
from gridcommons.pagination import LIMIT_TEXT, OFFSET_TEXT
from gridcommons.quantity import Energy, Power
from gridcommons.timeutil import is_quarter_aligned
from gridcommons.validation import EARLIEST, ID_LIST_ITEM_SCHEMA, IsoDate, UtcInstant, check_fraction_digits
from gridcommons.wire import WireModel

from ..validation import AssetIdOut, DeliveryDayOut, PeriodEndOut, PeriodStartOut

QUARTER = timedelta(minutes=15)
DAY = timedelta(days=1)
MAX_ENTRY_SPAN = timedelta(days=366)  # one entry covers at most a (leap) year
MAX_RECURRENT_DAYS = 366
MAX_ENTRIES = 1000
MAX_ROWS_PER_REQUEST = 200_000  # ~5.7 asset-years of quarter hours per request
MAX_QUERY_ASSETS = 1000
LAST_DAY = date(9998, 12, 31)  # recurrent days stay inside the instants' range
VALUE_FIELDS = ("power_charge", "power_discharge", "energy_low", "energy_high", "trading_locked")


@explained_enum(
    {
        "REPORTED": "Reported by the asset or its provider (telemetry, provider API)",
        "OPERATIONS": "Set by the platform's operators",
        "CUSTOMER": "Requested by the asset's owner (customer)",
        "PV": "Derived from the co-located PV plant's generation",
        "AVAILABILITY": "Derived from planned availability (maintenance, downtime plans)",
    }
)
class LimitSource(StrEnum):
    """Controlled vocabulary for limit submission sources (the seed's complete list)."""

    REPORTED = "REPORTED"
    OPERATIONS = "OPERATIONS"
    CUSTOMER = "CUSTOMER"
    PV = "PV"
    AVAILABILITY = "AVAILABILITY"


class LimitEntry(WireModel):
    """One entry of a PATCH: a window, a source, and the values to write (null = keep)."""

    asset_id: str = Field(
        description="Asset id, as assigned by the platform when the asset was created (`<REGION>_<AREA>_<CODE>_<n>`, e.g. `DE_50HZ_WU_1`).",
        min_length=1,
        max_length=128,
        examples=["DE_50HZ_WU_1"],
    )
    start_time: UtcInstant | time = Field(
        description="Absolute entries: the first instant (quarter-aligned, with offset). "
        "Recurrent entries: the UTC time of day the daily window starts.",
        examples=["2027-01-15T08:00:00Z"],
    )
    end_time: UtcInstant | time = Field(
        description="Absolute entries: the end instant (exclusive). Recurrent entries: the UTC time of day "
        "the daily window ends (exclusive; <= start_time wraps past midnight).",
        examples=["2027-01-15T12:00:00Z"],
    )
    recurrent: bool = Field(
        default=False,
        description="false: start_time/end_time are instants. true: they are a UTC time-of-day window repeated on every day of [valid_from, valid_until].",
        examples=[False],
    )
    valid_from: IsoDate | None = Field(
        default=None,
        ge=EARLIEST.date(),
        le=LAST_DAY,
        description="Recurrent entries: first UTC day (inclusive).",
        examples=[None],
    )
    valid_until: IsoDate | None = Field(
        default=None,
        ge=EARLIEST.date(),
        le=LAST_DAY,
        description="Recurrent entries: last UTC day (inclusive).",
        examples=[None],
    )
    source: LimitSource = Field(
        description="Source of these limits (each source keeps its own values; the computed limits take the most restrictive).",
        examples=["OPERATIONS"],
    )
    power_charge: Power | None = Field(
        default=None,
        description="Charging power limit, MW (null = keep the stored value).",
        examples=[{"amount": "2", "unit": "MW"}],
    )
    power_discharge: Power | None = Field(
        default=None,
        description="Discharging power limit, MW (null = keep the stored value).",
        examples=[{"amount": "2", "unit": "MW"}],
    )
    energy_low: Energy | None = Field(
        default=None,
        description="Lowest allowed stored energy, MWh (null = keep the stored value).",
        examples=[{"amount": "0.5", "unit": "MWh"}],
    )
    energy_high: Energy | None = Field(
        default=None,
        description="Highest allowed stored energy, MWh (null = keep the stored value).",
        examples=[{"amount": "7.5", "unit": "MWh"}],
    )
    trading_locked: bool | None = Field(
        default=None,
        description="true: no trading in the covered periods (null = keep the stored value).",
        examples=[False],
    )

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        if isinstance(value, (int, float, bool)):
            raise ValueError("must be an ISO 8601 date-time or a time of day (HH:MM[:SS])")
        if isinstance(value, str):
            check_fraction_digits(value)  # the time-of-day branch too: no digits beyond the microsecond
        return value

    @field_validator("start_time", "end_time")
    @classmethod
    def _quarter_aligned(cls, value: datetime | time) -> datetime | time:
        if isinstance(value, time) and value.utcoffset() not in (None, timedelta(0)):
            raise ValueError("a time-of-day window is in UTC: use no offset or Z")
        if not is_quarter_aligned(value):
            raise ValueError("must be aligned to a quarter hour (:00, :15, :30, :45, no seconds)")
        return value

    @model_validator(mode="after")
    def _check(self) -> LimitEntry:
        has_range = self.valid_from is not None or self.valid_until is not None
        if "recurrent" in self.model_fields_set and not self.recurrent and has_range:
            raise ValueError("valid_from/valid_until describe a recurrent window: drop them or set recurrent=true")
        if has_range:
            self.recurrent = True
        if self.recurrent:
            if self.valid_from is None or self.valid_until is None:
                raise ValueError("a recurrent window needs valid_from and valid_until")
            if self.valid_until < self.valid_from:
                raise ValueError("valid_until is before valid_from")
            if (self.valid_until - self.valid_from).days + 1 > MAX_RECURRENT_DAYS:
                raise ValueError(f"a recurrent window spans at most {MAX_RECURRENT_DAYS} days")
        else:
            if not isinstance(self.start_time, datetime) or not isinstance(self.end_time, datetime):
                raise ValueError(
                    "start_time and end_time must be date-times with offset (or set recurrent=true "
                    "with valid_from/valid_until for a time-of-day window)"
                )
            if self.end_time <= self.start_time:
                raise ValueError("end_time must be after start_time")
            if self.end_time - self.start_time > MAX_ENTRY_SPAN:
                raise ValueError("an entry spans at most 366 days")
        if all(getattr(self, f) is None for f in VALUE_FIELDS):
            raise ValueError(f"at least one of {', '.join(VALUE_FIELDS)} must be given")
        if (
            self.energy_low is not None
            and self.energy_high is not None
            and self.energy_low.amount > self.energy_high.amount
        ):
            raise ValueError("energy_low is above energy_high")
        return self

    # -- expansion geometry ------------------------------------------------------------

    def first_start(self) -> datetime:
        """UTC start of the first (or only) window."""
        if not self.recurrent:
            assert isinstance(self.start_time, datetime)
            return self.start_time.astimezone(UTC)
        assert self.valid_from is not None
        return datetime.combine(self.valid_from, _time_of_day(self.start_time), UTC)

    def window(self) -> timedelta:
        """Length of one window."""
        if not self.recurrent:
            assert isinstance(self.start_time, datetime) and isinstance(self.end_time, datetime)
            return self.end_time - self.start_time
        start, end = _time_of_day(self.start_time), _time_of_day(self.end_time)
        span = (datetime.combine(date.min, end) - datetime.combine(date.min, start)) % DAY
        return span or DAY

    def days(self) -> int:
        """How many windows (1 for an absolute entry)."""
        if not self.recurrent:
            return 1
        assert self.valid_from is not None and self.valid_until is not None
        return (self.valid_until - self.valid_from).days + 1

    def last_end(self) -> datetime:
        """UTC end of the last (or only) window."""
        return self.first_start() + (self.days() - 1) * DAY + self.window()

    def quarters_per_window(self) -> int:
        return self.window() // QUARTER

    def row_count(self) -> int:
        return self.days() * self.quarters_per_window()

    def intervals(self) -> list[tuple[datetime, datetime]]:
        first, span = self.first_start(), self.window()
        return [(first + i * DAY, first + i * DAY + span) for i in range(self.days())]


def _time_of_day(value: datetime | time) -> time:
    if isinstance(value, datetime):
        return value.astimezone(UTC).time().replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _overlaps(entries: list[LimitEntry]) -> list[str]:
    """Messages naming every pair of entries whose expanded periods share a (asset, source, quarter)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault((entry.asset_id, entry.source.value), []).append(i)
    problems: list[str] = []
    for (asset_id, source), idxs in groups.items():
        if len(idxs) < 2:
            continue
        spans = sorted((start, end, i) for i in idxs for start, end in entries[i].intervals())
        reach_end, reach_idx = spans[0][1], spans[0][2]
        seen: set[tuple[int, int]] = set()
        for start, end, i in spans[1:]:
            if start < reach_end and i != reach_idx:
                pair = (min(i, reach_idx), max(i, reach_idx))
                if pair not in seen:
                    seen.add(pair)
                    problems.append(
                        f"limits[{pair[1]}] overlaps limits[{pair[0]}] (asset_id {asset_id}, source {source})"
                    )
            if end > reach_end:
                reach_end, reach_idx = end, i
    return problems


class PatchLimitsRequest(WireModel):
    limits: list[LimitEntry] = Field(
        description="Entries to write (1..1000); each expands into quarter-hour rows.",
        min_length=1,
        max_length=MAX_ENTRIES,
    )

    @model_validator(mode="after")
    def _batch(self) -> PatchLimitsRequest:
        total = sum(e.row_count() for e in self.limits)
        if total > MAX_ROWS_PER_REQUEST:
            raise ValueError(f"the request expands to {total} rows; at most {MAX_ROWS_PER_REQUEST} per request")
        problems = _overlaps(self.limits)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AssetLimitsWritten(WireModel):
    """What one PATCH wrote for one asset (also the data of the ``limits.updated`` event)."""

    asset_id: AssetIdOut
    sources: list[LimitSource] = Field(description="Sources written for this asset.")
    start_time: datetime = Field(description="Start of the earliest period written.", examples=["2027-01-15T08:00:00Z"])
    end_time: datetime = Field(description="End of the latest period written.", examples=["2027-01-15T08:15:00Z"])
    rows: int = Field(description="15-minute rows inserted or updated.")
    entries: int = Field(description="Number of entries of the request applied to this asset.")


class PatchLimitsResponse(WireModel):
    rows: int = Field(description="Number of quarter-hour rows inserted or updated.")
    assets: list[AssetLimitsWritten] = Field(description="What was written, per asset.")


class DeleteLimitsResponse(WireModel):
    asset_id: AssetIdOut
    source: LimitSource = Field(description="Source whose rows were deleted (null = every source).")
    start_time: datetime = Field(
        description="Start of the deleted window (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:00:00Z"],
    )
    end_time: datetime = Field(
        description="End of the deleted window, exclusive (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:15:00Z"],
    )
    cleared: int = Field(description="Rows kept (trading_locked true) with their constraint columns cleared.")
    removed: int = Field(description="Rows removed because nothing was left in them.")


class ComputedLimits(WireModel):
    power_charge: Power | None = Field(
        description="Most restrictive charging power limit over all sources, MW (null = none)."
    )
    power_discharge: Power | None = Field(
        description="Most restrictive discharging power limit over all sources, MW (null = none)."
    )
    energy_low: Energy | None = Field(
        description="Most restrictive (highest) lower stored-energy bound over all sources, MWh (null = none)."
    )
    energy_high: Energy | None = Field(
        description="Most restrictive (lowest) upper stored-energy bound over all sources, MWh (null = none)."
    )
    trading_locked: bool = Field(
        description="true when any source locks trading in the period (null = no source says)."
    )


class SourceLimits(WireModel):
    source: LimitSource = Field(description="Source of these values.")
    power_charge: Power | None = Field(
        description="Charging power limit in MW for the period (null = no limit from this source)."
    )
    power_discharge: Power | None = Field(
        description="Discharging power limit in MW for the period (null = no limit from this source)."
    )
    energy_low: Energy | None = Field(
        description="Lowest allowed stored energy in MWh during the period (null = no limit from this source)."
    )
    energy_high: Energy | None = Field(
        description="Highest allowed stored energy in MWh during the period (null = no limit from this source)."
    )
    trading_locked: bool | None = Field(
        description="true: the asset must not be traded in the period (null = no statement from this source)."
    )
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC)."
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC)."
    )


class PeriodLimits(WireModel):
    asset_id: AssetIdOut
    start_time: PeriodStartOut
    end_time: PeriodEndOut
    delivery_day: DeliveryDayOut
    computed_limits: ComputedLimits = Field(description="Most restrictive values over all sources.")
    sources: list[SourceLimits] = Field(description="Values of each source for the period.")


class LimitsPage(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    limits: list[PeriodLimits] = Field(description="Periods of this page, ordered by asset and start_time.")


def _split_commas(value: Any) -> Any:
    """``a,b`` and repeated parameters alike: ``?x=a,b&x=c`` -> ``[a, b, c]``."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.extend(part.strip() for part in item.split(",") if part.strip())
        else:
            out.append(item)
    return out


class LimitsQuery(WireModel):
    """GET /api/limits: periods with start_time in [from, to) of the given assets."""

    model_config = ConfigDict(populate_by_name=True)

    asset_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_QUERY_ASSETS,
        description="Assets to read (ids as assigned by the platform): repeat the parameter or separate with commas; 1..1000 ids.",
        json_schema_extra={"items": ID_LIST_ITEM_SCHEMA},
    )
    from_: UtcInstant = Field(
        alias="from",
        description="Inclusive lower bound on start_time (ISO 8601 instant with offset, e.g. 2027-01-15T00:00:00Z).",
    )
    to: UtcInstant = Field(
        description="Exclusive upper bound on start_time (ISO 8601 instant with offset, e.g. 2027-01-15T00:00:00Z)."
    )
    sources: list[LimitSource] | None = Field(
        default=None, description="Comma-separated or repeated; computed limits consider only these sources."
    )
    limit: int = Field(default=50, ge=1, le=1000, description=LIMIT_TEXT)
    offset: int = Field(default=0, ge=0, le=2_147_483_647, description=OFFSET_TEXT)

    _split = field_validator("asset_ids", "sources", mode="before")(_split_commas)

    @field_validator("asset_ids")
    @classmethod
    def _ids(cls, ids: list[str]) -> list[str]:
        too_long = [i for i in ids if len(i) > 128]
        if too_long:
            raise ValueError(f"asset ids are at most 128 characters: {', '.join(too_long)}")
        return list(dict.fromkeys(ids))

    @model_validator(mode="after")
    def _window(self) -> LimitsQuery:
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class DeleteLimitsQuery(WireModel):
    """DELETE /api/limits: clear one source's constraints for periods with start_time in [start_time, end_time)."""

    asset_id: str = Field(min_length=1, max_length=128, description="Asset whose limits are cleared.")
    start_time: UtcInstant = Field(
        description="Clear periods starting at or after this instant (ISO 8601 with offset, quarter-aligned)."
    )
    end_time: UtcInstant = Field(description="Clear periods starting before this instant (ISO 8601 with offset).")
    source: LimitSource = Field(description="The source whose values are cleared (other sources keep theirs).")

    @model_validator(mode="after")
    def _window(self) -> DeleteLimitsQuery:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self
