"""Wire shapes of seed 002 (sites, inverters, PoC limits, inverter limits)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.quantity import DecimalAmount, NonNegativePower, Power, Price
from gridcommons.timeutil import QUARTER_HOUR, is_quarter_aligned
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..assets.schemas import AssetResponse, DeliveryArea, Region
from ..validation import ASSET_ID_MAX, Efficiency

IMMUTABLE_SITE_FIELDS = ("code", "region", "delivery_area")
# One request may expand into at most this many quarter-hour rows (a leap year has 35,136).
MAX_LIMIT_ROWS = 40_000
# Request body limit of the limit upserts: MAX_LIMIT_ROWS periods at their largest (both powers with
# 38-digit amounts, microsecond instants with offsets) are ~10.4 MiB of compact JSON.
LIMITS_BODY_LIMIT = 16 * 1024 * 1024


@explained_enum(
    {
        "OPTIMISATION": "The optimisation service decides every period (default)",
        "PRICE_BASED": "Charge below floor_price, discharge above strike_price (EUR/MWh)",
        "SELF_CONSUMPTION": "Maximise on-site use of local generation",
        "PEAK_SHAVING": "Keep the PoC import under its limit",
        "MANUAL": "Operators schedule set-points by hand",
        "DISABLED": "No dispatch at all",
    }
)
class DispatchModeName(StrEnum):
    """How the site's flexibility is dispatched (the seed shows PRICE_BASED; the rest completes the set)."""

    OPTIMISATION = "OPTIMISATION"
    PRICE_BASED = "PRICE_BASED"
    SELF_CONSUMPTION = "SELF_CONSUMPTION"
    PEAK_SHAVING = "PEAK_SHAVING"
    MANUAL = "MANUAL"
    DISABLED = "DISABLED"


EXPAND_MEANINGS = {
    "assets": "Embed each inverter's asset master records",
}


@explained_enum(EXPAND_MEANINGS)
class ExpandOption(StrEnum):
    """What a site listing can embed besides the inverters."""

    ASSETS = "assets"


def _check_efficiency(name: str, value: Decimal | None) -> None:
    if value is not None and not (0 < value <= 1):
        raise ValueError(f"{name} must be in (0, 1]")


def _check_non_negative(name: str, q: Power | Price | None, *, strictly: bool = False) -> None:
    if q is None:
        return
    if q.amount < 0 or (strictly and q.amount == 0):
        raise ValueError(f"{name} must be {'positive' if strictly else 'non-negative'}")


class DispatchMode(WireModel):
    """Dispatch mode configuration for a site. PRICE_BASED needs both prices; other modes take none."""

    name: DispatchModeName = Field(description="Dispatch mode.", examples=["PRICE_BASED"])
    floor_price: Price | None = Field(
        default=None,
        description="PRICE_BASED only: charge when the price is at or below this, EUR/MWh (null otherwise).",
        examples=[{"amount": "20", "unit": "EUR/MWh"}],
    )
    strike_price: Price | None = Field(
        default=None,
        description="PRICE_BASED only: discharge when the price is at or above this, EUR/MWh (null otherwise).",
        examples=[{"amount": "120", "unit": "EUR/MWh"}],
    )

    @model_validator(mode="after")
    def _check(self) -> DispatchMode:
        check_dispatch_mode(self.name, self.floor_price, self.strike_price)
        return self


def check_dispatch_mode(name: DispatchModeName, floor: Price | None, strike: Price | None) -> None:
    if name is DispatchModeName.PRICE_BASED:
        if floor is None or strike is None:
            raise ValueError("dispatch mode PRICE_BASED requires floor_price and strike_price")
        if floor.amount > strike.amount:
            raise ValueError("floor_price must not exceed strike_price")
    elif floor is not None or strike is not None:
        raise ValueError(f"dispatch mode {name.value} takes no floor_price / strike_price")


class CreateSiteRequest(WireModel):
    name: str = Field(
        description="Human-readable name of the site.",
        min_length=1,
        max_length=255,
        examples=["Immenstadt solar and storage park"],
    )
    code: str = Field(
        description="Short code chosen by the company (letters, digits, `_`, `-`); part of the generated site id.",
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        examples=["IMMST"],
    )
    region: Region = Field(description="Market region (country) of the asset or site.")
    delivery_area: DeliveryArea = Field(
        description="Delivery area (TSO control area) of the grid connection; must belong to the region.",
        examples=["AMPN"],
    )
    dispatch_mode: DispatchMode = Field(description="How the site's flexibility is dispatched.")


class PatchSiteRequest(WireModel):
    """Only provided (non-null) fields are applied; code, region and delivery_area form the id and
    are immutable. Switching away from PRICE_BASED clears the prices."""

    name: str | None = Field(
        description="New name (omit to keep).", default=None, min_length=1, max_length=255, examples=["Immenstadt park"]
    )
    dispatch_mode_name: DispatchModeName | None = Field(
        default=None, description="New dispatch mode (omit to keep).", examples=["PRICE_BASED"]
    )
    dispatch_mode_floor_price: Price | None = Field(
        default=None,
        description="New floor price for PRICE_BASED, EUR/MWh.",
        examples=[{"amount": "25", "unit": "EUR/MWh"}],
    )
    dispatch_mode_strike_price: Price | None = Field(
        default=None,
        description="New strike price for PRICE_BASED, EUR/MWh.",
        examples=[{"amount": "110", "unit": "EUR/MWh"}],
    )

    @model_validator(mode="before")
    @classmethod
    def _immutable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            bad = [f for f in IMMUTABLE_SITE_FIELDS if f in data]
            if bad:
                raise ValueError(f"{', '.join(bad)} form the site id and cannot be changed")
        return data


class SiteInverterResponse(WireModel):
    id: str = Field(description="Inverter id.")
    site_id: str = Field(description="Id of the site the inverter belongs to.", examples=["DE_AMPN_IMMST_SITE_1"])
    rated_power: Power = Field(description="Rated (nameplate) power of the inverter, MW.")
    charge_efficiency: DecimalAmount
    discharge_efficiency: DecimalAmount
    asset_ids: list[str] = Field(description="Assets connected behind this inverter.")
    assets: list[AssetResponse] | None = Field(
        default=None, description="The asset master records of asset_ids; only with expand=assets."
    )


class SiteResponse(WireModel):
    id: str = Field(
        description="Site id generated by the platform (`<REGION>_<AREA>_<CODE>_SITE_<n>`, e.g. `DE_AMPN_IMMST_SITE_1`).",
        examples=["DE_AMPN_IMMST_SITE_1"],
    )
    name: str = Field(description="Human-readable name of the site.", examples=["Immenstadt solar and storage park"])
    code: str = Field(
        description="Short code chosen by the company (letters, digits, `_`, `-`); part of the generated id.",
        examples=["IMMST"],
    )
    region: Region = Field(description="Market region (country) of the asset or site.")
    delivery_area: DeliveryArea = Field(
        description="Delivery area (TSO control area) of the grid connection; must belong to the region."
    )
    dispatch_mode: DispatchMode = Field(description="How the site's flexibility is dispatched.")
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    inverters: list[SiteInverterResponse] = Field(
        description="Inverters of the site (with their assets when expand=assets)."
    )


class SiteListResponse(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    sites: list[SiteResponse] = Field(description="Sites of this page, ordered by id.")


AssetIdList = list[str]
# What _check_asset_ids enforces, in the schema: distinct ids of 1..128 characters.
ASSET_IDS_SCHEMA: dict[str, Any] = {
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": ASSET_ID_MAX},
}


def _check_asset_ids(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate asset ids: {', '.join(dupes)}")
    for i in ids:
        if not (1 <= len(i) <= 128):
            raise ValueError("an asset id has 1 to 128 characters")


class CreateSiteInverterRequest(WireModel):
    rated_power: NonNegativePower = Field(description="MW, > 0.", examples=[{"amount": "4", "unit": "MW"}])
    charge_efficiency: Efficiency
    discharge_efficiency: Efficiency
    asset_ids: list[str] = Field(
        description="Assets (batteries, PV) connected behind this inverter; each at most on one inverter.",
        min_length=1,
        max_length=100,
        json_schema_extra=ASSET_IDS_SCHEMA,
        examples=[["DE_50HZ_WU_1"]],
    )

    @model_validator(mode="after")
    def _check(self) -> CreateSiteInverterRequest:
        _check_non_negative("rated_power", self.rated_power, strictly=True)
        _check_efficiency("charge_efficiency", self.charge_efficiency)
        _check_efficiency("discharge_efficiency", self.discharge_efficiency)
        _check_asset_ids(self.asset_ids)
        return self


class PatchSiteInverterRequest(WireModel):
    """Only provided (non-null) fields are applied; asset_ids replaces the whole list."""

    rated_power: NonNegativePower | None = Field(
        default=None, description="MW, > 0.", examples=[{"amount": "4", "unit": "MW"}]
    )
    charge_efficiency: Efficiency | None = Field(
        default=None, description="New charging efficiency, fraction in (0, 1] (omit to keep)."
    )
    discharge_efficiency: Efficiency | None = Field(
        default=None, description="New discharging efficiency, fraction in (0, 1] (omit to keep)."
    )
    asset_ids: list[str] | None = Field(
        description="New set of assets behind the inverter (omit to keep).",
        default=None,
        min_length=1,
        max_length=100,
        json_schema_extra=ASSET_IDS_SCHEMA,
        examples=[["DE_50HZ_WU_1"]],
    )

    @model_validator(mode="after")
    def _check(self) -> PatchSiteInverterRequest:
        _check_non_negative("rated_power", self.rated_power, strictly=True)
        _check_efficiency("charge_efficiency", self.charge_efficiency)
        _check_efficiency("discharge_efficiency", self.discharge_efficiency)
        if self.asset_ids is not None:
            _check_asset_ids(self.asset_ids)
        return self


class SiteLimitPeriodIn(WireModel):
    """A [start_time, end_time) period, quarter-hour aligned, any multiple of 15 minutes; it is
    stored as one row per quarter hour. A null limit means "no limit in that direction"."""

    start_time: UtcInstant = Field(
        description="Start of the limit period (ISO 8601 instant with offset, answered in UTC, quarter-aligned).",
        examples=["2027-01-15T00:00:00Z"],
    )
    end_time: UtcInstant = Field(
        description="End of the limit period, exclusive (ISO 8601 instant with offset, answered in UTC, quarter-aligned).",
        examples=["2027-01-16T00:00:00Z"],
    )
    max_import_from_grid: NonNegativePower | None = Field(
        default=None,
        description="Largest power that may be drawn from the grid in the period, MW (>= 0).",
        examples=[{"amount": "5", "unit": "MW"}],
    )
    max_export_to_grid: NonNegativePower | None = Field(
        default=None,
        description="Largest power that may be fed into the grid in the period, MW (>= 0).",
        examples=[{"amount": "4.5", "unit": "MW"}],
    )

    @model_validator(mode="after")
    def _check(self) -> SiteLimitPeriodIn:
        if not is_quarter_aligned(self.start_time) or not is_quarter_aligned(self.end_time):
            raise ValueError("start_time and end_time must be aligned to a quarter hour")
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        _check_non_negative("max_import_from_grid", self.max_import_from_grid)
        _check_non_negative("max_export_to_grid", self.max_export_to_grid)
        return self

    @property
    def quarter_hours(self) -> int:
        return int((self.end_time - self.start_time) / QUARTER_HOUR)


class PutSiteLimitsBase(WireModel):
    limits: list[SiteLimitPeriodIn] = Field(
        description="Limit periods (quarter-aligned, not overlapping) replacing the stored ones in the window "
        "from the earliest start_time to the latest end_time.",
        min_length=1,
        max_length=MAX_LIMIT_ROWS,
    )

    @model_validator(mode="after")
    def _check(self) -> PutSiteLimitsBase:
        total = sum(p.quarter_hours for p in self.limits)
        if total > MAX_LIMIT_ROWS:
            raise ValueError(f"the periods cover {total} quarter hours; at most {MAX_LIMIT_ROWS} per request")
        order = sorted(range(len(self.limits)), key=lambda i: (self.limits[i].start_time, i))
        clashes = []
        reach = order[0]  # the period seen so far that ends last
        for i in order[1:]:
            if self.limits[i].start_time < self.limits[reach].end_time:
                clashes.append(f"limits[{i}] overlaps limits[{reach}]")
            if self.limits[i].end_time > self.limits[reach].end_time:
                reach = i
        if clashes:
            raise ValueError(f"overlapping periods: {'; '.join(clashes)}")
        return self


class PutSiteLimitsRequest(PutSiteLimitsBase):
    pass


class PutSiteInverterLimitsRequest(PutSiteLimitsBase):
    pass


class SiteLimitPeriod(WireModel):
    start_time: datetime = Field(
        description="Start of the limit period (ISO 8601 instant with offset, answered in UTC, quarter-aligned)."
    )
    end_time: datetime = Field(
        description="End of the limit period, exclusive (ISO 8601 instant with offset, answered in UTC, quarter-aligned)."
    )
    max_import_from_grid: Power | None = Field(
        description="Largest power that may be drawn from the grid in the period, MW (>= 0)."
    )
    max_export_to_grid: Power | None = Field(
        description="Largest power that may be fed into the grid in the period, MW (>= 0)."
    )


class SiteLimitsPage(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    limits: list[SiteLimitPeriod] = Field(description="Limit periods of this page, ordered by start_time.")


class SiteLimitsResponse(SiteLimitsPage):
    pass


class SiteInverterLimitsResponse(SiteLimitsPage):
    pass


class SiteLimitsWrittenResponse(WireModel):
    """What an upsert of limits wrote: the number of quarter-hour rows and their span."""

    rows: int = Field(description="Number of quarter-hour rows written.")
    start_time: datetime = Field(
        description="Start of the replaced window (ISO 8601 instant with offset, answered in UTC)."
    )
    end_time: datetime = Field(
        description="End of the replaced window, exclusive (ISO 8601 instant with offset, answered in UTC)."
    )


def span(periods: list[SiteLimitPeriodIn]) -> tuple[datetime, datetime]:
    return min(p.start_time for p in periods), max(p.end_time for p in periods)


READ_WINDOW_SITE = timedelta(days=31)
READ_WINDOW_INVERTER = timedelta(days=7)
