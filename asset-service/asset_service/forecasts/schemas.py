"""Wire shapes of seed 002 (forecasts)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, NonNegativePower, Power
from gridcommons.wire import WireModel

from ..periods import AssetPeriodIn, check_unique
from ..validation import (
    AssetIdOut,
    DeliveryDayOut,
    PeriodEndOut,
    PeriodStartOut,
)

MAX_BATCH = 1000


class ForecastIn(AssetPeriodIn):
    """One 15-minute forecast period of one asset."""

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


class UpsertForecastsRequest(WireModel):
    forecasts: list[ForecastIn] = Field(
        description="Forecast periods to insert or overwrite (1..1000; unique per asset_id and start_time).",
        min_length=1,
        max_length=MAX_BATCH,
    )

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertForecastsRequest:
        check_unique([(f.asset_id, f.start_time) for f in self.forecasts], ("asset_id", "start_time"))
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
