"""Wire shapes of seed 002 (forecasts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, NonNegativePower, Power
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..periods import check_quarter_period, describe_duplicates, duplicates
from ..validation import (
    AssetIdField,
    AssetIdOut,
    DeliveryDayOut,
    PeriodEndOut,
    PeriodStartOut,
)

MAX_BATCH = 1000


def reject_delivery_day(data: Any) -> Any:
    if isinstance(data, dict) and "delivery_day" in data:
        raise ValueError("delivery_day is derived server-side from start_time and must not be supplied")
    return data


class ForecastIn(WireModel):
    """One 15-minute forecast period of one asset."""

    asset_id: AssetIdField
    start_time: UtcInstant = Field(
        description="Start of the 15-minute period (quarter-aligned).", examples=["2027-01-15T08:00:00Z"]
    )
    end_time: UtcInstant = Field(
        description="End of the period, exactly start_time + 15 minutes.", examples=["2027-01-15T08:15:00Z"]
    )
    generation: NonNegativePower = Field(
        description="Forecasted generation in the period (MW, >= 0).", examples=[{"amount": "1.2", "unit": "MW"}]
    )
    consumption: NonNegativePower = Field(
        description="Forecasted consumption in the period (MW, >= 0).", examples=[{"amount": "0.3", "unit": "MW"}]
    )
    import_from_grid_fee: DecimalAmount | None = Field(
        default=None,
        description="Fee for importing from the grid in the period, EUR/MWh (plain number).",
        examples=["35.5"],
    )

    _no_delivery_day = model_validator(mode="before")(reject_delivery_day)

    @model_validator(mode="after")
    def _period(self) -> ForecastIn:
        check_quarter_period(self.start_time, self.end_time)
        return self


class UpsertForecastsRequest(WireModel):
    forecasts: list[ForecastIn] = Field(
        description="Forecast periods to insert or overwrite (1..1000; unique per asset_id and start_time).",
        min_length=1,
        max_length=MAX_BATCH,
    )

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertForecastsRequest:
        dups = duplicates([(f.asset_id, f.start_time) for f in self.forecasts])
        if dups:
            raise ValueError(describe_duplicates(dups, ("asset_id", "start_time")))
        return self


class ForecastOut(WireModel):
    asset_id: AssetIdOut
    start_time: PeriodStartOut
    end_time: PeriodEndOut
    delivery_day: DeliveryDayOut
    generation: Power = Field(description="Forecasted generation in the period, MW (average over the quarter hour).")
    consumption: Power = Field(description="Forecasted consumption in the period, MW (average over the quarter hour).")
    import_from_grid_fee: DecimalAmount | None = Field(
        description="Fee for importing from the grid in the period, EUR/MWh as a decimal string (null = none)."
    )
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )


class UpsertForecastsResponse(WireModel):
    forecasts: list[ForecastOut] = Field(description="The stored forecast periods, as they are now.")


class ForecastListResponse(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    forecasts: list[ForecastOut] = Field(description="Forecast periods of this page, ordered by asset and start_time.")
