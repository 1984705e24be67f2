"""Wire shapes of seed 002 (reservations)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.quantity import Energy, NonNegativeEnergy, Power
from gridcommons.wire import WireModel

from ..periods import AssetPeriodIn, check_unique
from ..validation import (
    AssetIdOut,
    DeliveryDayOut,
    PeriodEndOut,
    PeriodStartOut,
)

MAX_BATCH = 1000
MARKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"


@explained_enum(
    {
        "OPTIMISATION": "The optimisation service's schedule",
        "EXTERNAL": "A position reported by an external party (trader, aggregator, customer)",
        "DAA_SWAP": "A day-ahead-auction swap",
        "MANUAL": "Entered by an operator",
    }
)
class ReservationSource(StrEnum):
    """Where a net market position comes from (the seed names OPTIMISATION; the rest complete it)."""

    OPTIMISATION = "OPTIMISATION"
    EXTERNAL = "EXTERNAL"
    DAA_SWAP = "DAA_SWAP"
    MANUAL = "MANUAL"


class ReservationIn(AssetPeriodIn):
    """One 15-minute net market position of one asset in one market from one source."""

    market: str = Field(
        min_length=1,
        max_length=64,
        pattern=MARKET_PATTERN,
        description="Market name, e.g. DA, IDA1, IDC, FCR, aFRR (letters, digits, _ . : / -; no commas).",
        examples=["EPEX_SPOT_DA"],
    )
    source: ReservationSource = Field(description="Where the net position comes from.")
    power: Power = Field(
        description="Net power position, MW (positive = discharge/sell, negative = charge/buy).",
        examples=[{"amount": "1.5", "unit": "MW"}],
    )
    energy_change: Energy = Field(
        description="Change of stored energy the position causes, MWh (signed).",
        examples=[{"amount": "-0.375", "unit": "MWh"}],
    )
    energy_buffer_low: NonNegativeEnergy = Field(
        description="Energy to keep in reserve below, MWh (>= 0).", examples=[{"amount": "0.5", "unit": "MWh"}]
    )
    energy_buffer_high: NonNegativeEnergy = Field(
        description="Energy headroom to keep in reserve above, MWh (>= 0).", examples=[{"amount": "0.5", "unit": "MWh"}]
    )


class UpsertReservationsRequest(WireModel):
    reservations: list[ReservationIn] = Field(
        description="Positions to insert or overwrite (1..1000; unique per asset_id, start_time, market, source).",
        min_length=1,
        max_length=MAX_BATCH,
    )

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertReservationsRequest:
        check_unique(
            [(r.asset_id, r.start_time, r.market, r.source.value) for r in self.reservations],
            ("asset_id", "start_time", "market", "source"),
        )
        return self


class ReservationOut(WireModel):
    asset_id: AssetIdOut
    start_time: PeriodStartOut
    end_time: PeriodEndOut
    delivery_day: DeliveryDayOut
    market: str = Field(
        description="Market the position was taken on (free identifier, e.g. `EPEX_DA`, `EPEX_ID`).",
        examples=["EPEX_SPOT_DA"],
    )
    source: ReservationSource = Field(description="Where the net position comes from.")
    power: Power = Field(
        description="Net power position of the asset in this market for the period, MW (average over the quarter hour)."
    )
    energy_change: Energy = Field(description="Change of stored energy the position causes over the period, MWh.")
    energy_buffer_low: Energy = Field(description="Energy to keep available below, MWh (>= 0).")
    energy_buffer_high: Energy = Field(description="Energy headroom to keep available above, MWh (>= 0).")
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )


class UpsertReservationsResponse(WireModel):
    reservations: list[ReservationOut] = Field(description="The stored positions, as they are now.")


class ReservationQuery(WireModel):
    """The filter of ``GET /api/reservations`` (the page comes apart, as ``gridcommons.pagination.Page``)."""

    asset_ids: list[str]
    start: datetime
    end: datetime
    markets: list[str] | None = None
    sources: list[ReservationSource] | None = None


class ReservationListResponse(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    reservations: list[ReservationOut] = Field(
        description="Positions of this page, ordered by asset, start_time, market and source."
    )
