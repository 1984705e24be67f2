"""Wire shapes of readings, and the one set of field rules that both the fast batch parser
(``parsing.py``) and the documented models below apply."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema, model_validator

from gridcommons.describe import explained_enum
from gridcommons.quantity import (
    MAX_FRACTION_DIGITS,
    MAX_INTEGER_DIGITS,
    decimal_schema,
    format_decimal,
)
from gridcommons.validation import EARLIEST, LATEST, check_fraction_digits
from gridcommons.wire import WireModel

from ..rollups.schemas import MAX_BUCKETS, Resolution, RollupBucket
from ..series.schemas import EXTERNAL_KEY_TEXT, MAX_SERIES_ID, Unit

MAX_BATCH = 100_000  # readings per ingestion batch (more: 413)


@explained_enum(
    {
        "corrected": "Corrected by the data owner after the fact; outranks every other quality",
        "measured": "Read from the meter as is",
        "estimated": "Estimated (gap filling, profile), replaced by a measured or corrected value",
        "provisional": "Provisional (published before validation), replaced by any other quality",
    }
)
class Quality(StrEnum):
    """Quality of a reading. A reading for the same series and instant replaces the stored one when
    its quality is equal or better: corrected > measured > estimated > provisional."""

    CORRECTED = "corrected"
    MEASURED = "measured"
    ESTIMATED = "estimated"
    PROVISIONAL = "provisional"


# The order of the upsert rule, stored as the rank (a higher rank wins or ties).
QUALITY_RANK: dict[str, int] = {"provisional": 1, "estimated": 2, "measured": 3, "corrected": 4}
QUALITY_OF_RANK: dict[int, Quality] = {rank: Quality(name) for name, rank in QUALITY_RANK.items()}

# ---------------------------------------------------------------- field rules (ValueError = refused)

_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
INSTANT_TEXT = "must be an ISO 8601 date-time with an offset, e.g. 2027-01-15T08:00:00Z"


def is_plain_instant(value: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SS`` then ``Z`` or ``±hh:mm``, in ASCII (``fromisoformat`` checks the digits):
    what most senders send; PostgreSQL reads it as the same instant. Slicing tests are a few times
    cheaper than a regular expression, which counts at 100,000 readings a batch."""
    n = len(value)
    return (
        (n == 20 and value[19] == "Z" or n == 25 and value[22] == ":" and value[19] in "+-")
        and value[4] == "-"
        and value[7] == "-"
        and value[10] == "T"
        and value[13] == ":"
        and value[16] == ":"
        and value.isascii()
    )


def parse_instant(value: Any, *, plain: bool = False) -> datetime:
    """ISO 8601 text with an offset (``Z`` or ``±hh:mm``), at most microseconds, in [1900, 9999) UTC
    (``plain``: the caller found ``is_plain_instant(value)`` already)."""
    if type(value) is not str or not (plain or is_plain_instant(value) or _INSTANT.match(value)):
        raise ValueError(INSTANT_TEXT)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(INSTANT_TEXT) from None
    if parsed.tzinfo is None:
        raise ValueError("the timestamp carries no offset: add Z or ±hh:mm (a local time is ambiguous)")
    if len(value) > 26:  # only texts with a long fraction can hide digits beyond the microsecond
        check_fraction_digits(value)
    if parsed.tzinfo is UTC:  # Z or +00:00, the usual case: no conversion
        utc = parsed
    else:
        try:
            utc = parsed.astimezone(UTC)
        except OverflowError:
            raise ValueError("must lie in [1900-01-01, 9999-01-01) UTC") from None
    if not EARLIEST.year <= utc.year < LATEST.year:
        raise ValueError("must lie in [1900-01-01, 9999-01-01) UTC")
    return utc


def parse_value(value: Any) -> Decimal:
    """A JSON number or a plain decimal string (at most 20 integer and 18 fraction digits); finite."""
    kind = type(value)
    if kind is str:
        # the rule of DECIMAL_PATTERN without a regular expression (a few times cheaper per reading)
        head, dot, tail = value.partition(".")
        digits = head[1:] if head[:1] == "-" else head
        if not (
            value.isascii()
            and digits.isdigit()
            and len(digits) <= MAX_INTEGER_DIGITS
            and (not dot or (tail.isdigit() and len(tail) <= MAX_FRACTION_DIGITS))
        ):
            raise ValueError(
                f"must be a decimal number in plain notation (at most {MAX_INTEGER_DIGITS} integer and "
                f"{MAX_FRACTION_DIGITS} fraction digits), e.g. 1234.5"
            )
        return Decimal(value)
    if kind is int:
        if abs(value) >= 10**MAX_INTEGER_DIGITS:
            raise ValueError(f"has more than {MAX_INTEGER_DIGITS} integer digits")
        return Decimal(value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be finite (NaN and infinities are refused)")
        try:
            d = Decimal(repr(value))  # the shortest text that reads back as this number: what was sent
        except InvalidOperation:
            raise ValueError("must be a finite number") from None
        if d != 0 and d.adjusted() >= MAX_INTEGER_DIGITS:
            raise ValueError(f"has more than {MAX_INTEGER_DIGITS} integer digits")
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_FRACTION_DIGITS:
            raise ValueError(f"has more than {MAX_FRACTION_DIGITS} fraction digits")
        return d
    if kind is Decimal:
        if not value.is_finite():
            raise ValueError("must be finite (NaN and infinities are refused)")
        return parse_value(format(value, "f"))
    raise ValueError("must be a number or a decimal string")


def parse_quality(value: Any) -> int:
    """The rank of a quality name (``QUALITY_RANK``)."""
    rank = QUALITY_RANK.get(value) if type(value) is str else None
    if rank is None:
        raise ValueError("must be one of corrected, measured, estimated, provisional")
    return rank


def parse_series_id(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_SERIES_ID:
        raise ValueError("must be a positive integer (a series id)")
    return value


def parse_external_key(value: Any) -> str:
    if type(value) is not str or not 1 <= len(value) <= 255 or "\x00" in value or value.strip() != value:
        raise ValueError("must be 1..255 characters without NUL or surrounding spaces (an external key)")
    return value


_UNITS = frozenset(u.value for u in Unit)


def parse_unit(value: Any) -> str:
    if type(value) is not str or value not in _UNITS:
        raise ValueError(f"must be one of {', '.join(u.value for u in Unit)}")
    return value


# ---------------------------------------------------------------- documented models


ReadingValue = Annotated[
    Decimal,
    BeforeValidator(parse_value),
    PlainSerializer(format_decimal, return_type=str),
    WithJsonSchema(decimal_schema(example="1234.5")),
]
ReadingInstant = Annotated[datetime, BeforeValidator(parse_instant)]


class ReadingInput(WireModel):
    """One reading, addressed by series id or by external key (exactly one of them)."""

    series_id: Annotated[int | None, BeforeValidator(lambda v: v if v is None else parse_series_id(v))] = Field(
        default=None, description="Id of the series (give this or external_key).", examples=[12]
    )
    external_key: Annotated[str | None, BeforeValidator(lambda v: v if v is None else parse_external_key(v))] = Field(
        default=None, description=EXTERNAL_KEY_TEXT + " (Give this or series_id.)", examples=[None]
    )
    time: ReadingInstant = Field(
        description="Instant of the reading: ISO 8601 with an offset (Z or ±hh:mm; a local time without "
        "offset is refused), at most microseconds; stored and answered in UTC.",
        examples=["2027-01-15T08:00:00Z"],
    )
    value: ReadingValue = Field(description="The value, in the series' unit (a number or a decimal string).")
    quality: Quality = Field(default=Quality.MEASURED, description="Quality of the value (default measured).")
    unit: Unit | None = Field(
        default=None,
        description="Unit of the value, if the sender states it: it must be the series' unit (no conversion).",
        examples=["kWh"],
    )

    @model_validator(mode="after")
    def _one_address(self) -> ReadingInput:
        if (self.series_id is None) == (self.external_key is None):
            raise ValueError("give exactly one of series_id and external_key")
        return self


class IngestReadingsRequest(WireModel):
    """A batch of readings (JSON). The same readings may be sent as NDJSON (one reading object per
    line, content type application/x-ndjson) or CSV (text/csv, a header line naming the columns
    series_id or external_key, time, value and optionally quality and unit)."""

    readings: list[ReadingInput] = Field(
        min_length=1,
        description=f"1..{MAX_BATCH:,} readings; all are recorded or none (422 naming every offending item).",
    )


class IngestReadingsResponse(WireModel):
    received: int = Field(description="Readings in the batch.")
    written: int = Field(
        description="Readings stored: new, or replacing a stored value of equal or lower quality with a "
        "different value or quality."
    )
    unchanged: int = Field(
        description="Readings that changed nothing: the same value was stored already, a stored reading of "
        "better quality was kept, or a copy of another reading of the batch."
    )


class Reading(WireModel):
    time: datetime = Field(description="Instant of the reading (ISO 8601, UTC).", examples=["2027-01-15T08:00:00Z"])
    value: ReadingValue = Field(description="The value, in the series' unit.")
    quality: Quality = Field(description="Quality of the stored value.")


class ReadingListResponse(WireModel):
    series_id: int = Field(description="The series the readings belong to.", examples=[12])
    unit: Unit = Field(description="Unit of every value.")
    resolution: Resolution = Field(default=Resolution.RAW, description="The resolution asked for.")
    timezone: str | None = Field(
        default=None,
        description="Rollups: the IANA time zone of the buckets' calendar (the series' own unless `tz` was "
        "given); raw: null.",
        examples=["Europe/Paris"],
    )
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000; raw only).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page; raw only).")
    readings: list[Reading] = Field(
        description="Raw: the readings with time in [from, to), ordered by time; rollups: empty."
    )
    buckets: list[RollupBucket] = Field(
        default_factory=list,
        description="Rollups: every bucket of the calendar overlapping [from, to), in order (not paged: at "
        f"most {MAX_BUCKETS:,}); raw: empty.",
    )
