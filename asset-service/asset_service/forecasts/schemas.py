"""Wire shapes of seed 002 (forecasts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, NonNegativePower, Power
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..periods import check_quarter_period, describe_duplicates, duplicates
from ..validation import ASSET_ID_MAX, ASSET_ID_PATTERN

MAX_BATCH = 1000


def reject_delivery_day(data: Any) -> Any:
    if isinstance(data, dict) and "delivery_day" in data:
        raise ValueError("delivery_day is derived server-side from start_time and must not be supplied")
    return data


class ForecastIn(WireModel):
    """One 15-minute forecast period of one asset."""

    asset_id: str = Field(min_length=1, max_length=ASSET_ID_MAX, pattern=ASSET_ID_PATTERN)
    start_time: UtcInstant = Field(description="Start of the 15-minute period (quarter-aligned).")
    end_time: UtcInstant = Field(description="End of the period, exactly start_time + 15 minutes.")
    generation: NonNegativePower = Field(description="Forecasted generation in the period (MW, >= 0).")
    consumption: NonNegativePower = Field(description="Forecasted consumption in the period (MW, >= 0).")
    import_from_grid_fee: DecimalAmount | None = Field(
        default=None, description="Fee for importing from the grid in the period, EUR/MWh (plain number)."
    )

    _no_delivery_day = model_validator(mode="before")(reject_delivery_day)

    @model_validator(mode="after")
    def _period(self) -> ForecastIn:
        check_quarter_period(self.start_time, self.end_time)
        return self


class UpsertForecastsRequest(WireModel):
    forecasts: list[ForecastIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertForecastsRequest:
        dups = duplicates([(f.asset_id, f.start_time) for f in self.forecasts])
        if dups:
            raise ValueError(describe_duplicates(dups, ("asset_id", "start_time")))
        return self


class ForecastOut(WireModel):
    asset_id: str
    start_time: datetime
    end_time: datetime
    delivery_day: date
    generation: Power
    consumption: Power
    import_from_grid_fee: DecimalAmount | None
    created_at: datetime
    updated_at: datetime


class UpsertForecastsResponse(WireModel):
    forecasts: list[ForecastOut]


class ForecastListResponse(WireModel):
    limit: int
    offset: int
    forecasts: list[ForecastOut]
