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

from ..validation import AssetIdOut


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
    source: str = Field(description="System that issued the dispatch command (e.g. the optimisation service).")
    event_id: UUID = Field(description="Id of the event that carried the command (UUID); unique.")
    published_at: datetime = Field(
        description="When the command was published (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T07:59:58Z"],
    )
    asset_id: AssetIdOut
    dispatch_time: datetime = Field(
        description="When the command was issued to the asset (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T07:59:58Z"],
    )
    delivery_period_start: datetime = Field(
        description="Start of the 15-minute delivery period the command is for (ISO 8601 instant with offset, answered in UTC, quarter-aligned).",
        examples=["2027-01-15T08:00:00Z"],
    )
    target_power: Power = Field(description="Power set-point the asset is commanded to deliver in the period, MW.")
    nominal_power: Power = Field(description="Power the asset was expected to deliver without the command, MW.")
    power_imbalance: Power = Field(description="Deviation of the delivered from the target power, MW.")
    soc_imbalance: Power = Field(description="Deviation of the state of charge expressed as power over the period, MW.")

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
    dispatches: list[DispatchEntry] = Field(
        description="Dispatch commands of this page, ordered by asset and delivery period."
    )
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
