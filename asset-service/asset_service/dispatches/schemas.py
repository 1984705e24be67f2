"""Wire shapes of dispatch history (seed 002 ``DispatchListResponse``) and the dispatch command payload."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self
from uuid import UUID

from pydantic import Field, field_validator

from gridcommons.quantity import Power
from gridcommons.timeutil import is_quarter_aligned
from gridcommons.validation import Text, UtcInstant
from gridcommons.wire import WireModel


class DispatchCommand(WireModel):
    """A dispatch command (``ingest.dispatches.v1``). In a CloudEvents envelope, ``event_id``,
    ``source`` and ``published_at`` default to the envelope's ``id``, ``source`` and ``time``."""

    event_id: UUID
    source: Text = Field(min_length=1, max_length=255)
    published_at: UtcInstant
    asset_id: Text = Field(min_length=1, max_length=128)
    dispatch_time: UtcInstant
    delivery_period_start: UtcInstant
    target_power: Power
    nominal_power: Power
    power_imbalance: Power
    soc_imbalance: Power

    @field_validator("delivery_period_start")
    @classmethod
    def _quarter_aligned(cls, value: datetime) -> datetime:
        if not is_quarter_aligned(value):
            raise ValueError("delivery_period_start must start a 15-minute period (minute 0, 15, 30 or 45)")
        return value


class DispatchEntry(WireModel):
    source: str
    event_id: UUID
    published_at: datetime
    asset_id: str
    dispatch_time: datetime
    delivery_period_start: datetime
    target_power: Power
    nominal_power: Power
    power_imbalance: Power
    soc_imbalance: Power

    @classmethod
    def from_row(cls, row: Any) -> Self:
        powers = {k: Power(amount=row[k], unit="MW") for k in _POWERS}
        return super().from_row({**{k: v for k, v in row.items() if k not in _POWERS}, **powers})


_POWERS = ("target_power", "nominal_power", "power_imbalance", "soc_imbalance")


class DispatchQuery(WireModel):
    """The filter of ``GET /api/dispatches`` (the page comes apart, as ``gridcommons.pagination.Page``)."""

    asset_ids: list[str]
    start: datetime | None = None
    end: datetime | None = None
    delivery_day: date | None = None


class DispatchListResponse(WireModel):
    dispatches: list[DispatchEntry]
    limit: int
    offset: int
