"""Wire shapes of rollups (one calendar bucket of a series)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from gridcommons.describe import explained_enum
from gridcommons.quantity import DecimalAmount
from gridcommons.wire import WireModel


@explained_enum(
    {
        "raw": "The stored readings themselves, one page at a time",
        "15m": "Quarter hours",
        "1h": "Hours of the local clock",
        "1d": "Local calendar days (23, 24 or 25 hours)",
        "1mo": "Local calendar months",
    }
)
class Resolution(StrEnum):
    """What the read answers: raw readings, or rollups per calendar bucket of the time zone."""

    RAW = "raw"
    QUARTER_HOUR = "15m"
    HOUR = "1h"
    DAY = "1d"
    MONTH = "1mo"


MAX_BUCKETS = 40_000  # a leap year of quarter hours is 35,136


class Coverage(WireModel):
    expected: int = Field(description="Quarter hours in the bucket.", examples=[96])
    received: int = Field(
        description="Quarter hours of the bucket with readings covering some of their time (instantaneous: a "
        "reading in the quarter; cumulative: two consecutive readings within the quarter).",
        examples=[94],
    )
    fraction: float = Field(
        description="Share of the bucket's time covered by readings (0..1); the value is over this time only, "
        "nothing is interpolated.",
        examples=[0.979],
    )


class RollupBucket(WireModel):
    # local wall-clock instants keep their offset (WireModel datetimes are UTC): ISO 8601 text
    start: str = Field(
        json_schema_extra={"format": "date-time"},
        description="Local start of the bucket (ISO 8601 with the offset of the time zone at that instant).",
        examples=["2026-03-29T00:00:00+01:00"],
    )
    end: str = Field(
        json_schema_extra={"format": "date-time"},
        description="Local end of the bucket, exclusive (a DST day ends 23 or 25 hours after its start).",
        examples=["2026-03-30T00:00:00+02:00"],
    )
    value: DecimalAmount | None = Field(
        description="Instantaneous series: the time-weighted average over the covered time (exact, rounded "
        "half-even to 6 decimals); cumulative series: the energy counted in the bucket (differences of the "
        "register, never negative; exact). In the series' unit, as a decimal string (readings with more than 6 "
        "decimals are rounded half-even to 6 first); null when no reading covers the bucket.",
        examples=["12.5"],
    )
    min: DecimalAmount | None = Field(
        default=None,
        description="Smallest reading in the bucket (instantaneous series only; else null), decimal string.",
        examples=["11.75"],
    )
    max: DecimalAmount | None = Field(
        default=None,
        description="Largest reading in the bucket (instantaneous series only; else null), decimal string.",
        examples=["13.25"],
    )
    counter_resets: int = Field(
        default=0,
        description="Cumulative series: steps where the register went down without rolling over (a reset or a "
        "replaced meter); their time is left uncovered.",
    )
    coverage: Coverage = Field(description="Expected against received quarter hours of the bucket.")
