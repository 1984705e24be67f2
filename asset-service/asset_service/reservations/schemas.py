"""Wire shapes of seed 002 (reservations)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.quantity import Energy, NonNegativeEnergy, Power
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..forecasts.schemas import reject_delivery_day
from ..periods import check_quarter_period, describe_duplicates, duplicates
from ..validation import ASSET_ID_MAX, ASSET_ID_PATTERN

MAX_BATCH = 1000
MARKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"


class ReservationSource(StrEnum):
    """Where a net market position comes from (the seed names OPTIMISATION; the rest complete it)."""

    OPTIMISATION = "OPTIMISATION"  # the optimisation service's schedule
    EXTERNAL = "EXTERNAL"  # a position reported by an external party (trader, aggregator, customer)
    DAA_SWAP = "DAA_SWAP"  # a day-ahead-auction swap
    MANUAL = "MANUAL"  # entered by an operator


class ReservationIn(WireModel):
    """One 15-minute net market position of one asset in one market from one source."""

    asset_id: str = Field(min_length=1, max_length=ASSET_ID_MAX, pattern=ASSET_ID_PATTERN)
    start_time: UtcInstant = Field(description="Start of the 15-minute period (quarter-aligned).")
    end_time: UtcInstant = Field(description="End of the period, exactly start_time + 15 minutes.")
    market: str = Field(
        min_length=1,
        max_length=64,
        pattern=MARKET_PATTERN,
        description="Market name, e.g. DA, IDA1, IDC, FCR, aFRR (letters, digits, _ . : / -; no commas).",
    )
    source: ReservationSource
    power: Power = Field(description="Net power position, MW (positive = discharge/sell, negative = charge/buy).")
    energy_change: Energy = Field(description="Change of stored energy the position causes, MWh (signed).")
    energy_buffer_low: NonNegativeEnergy = Field(description="Energy to keep in reserve below, MWh (>= 0).")
    energy_buffer_high: NonNegativeEnergy = Field(description="Energy headroom to keep in reserve above, MWh (>= 0).")

    _no_delivery_day = model_validator(mode="before")(reject_delivery_day)

    @model_validator(mode="after")
    def _period(self) -> ReservationIn:
        check_quarter_period(self.start_time, self.end_time)
        return self


class UpsertReservationsRequest(WireModel):
    reservations: list[ReservationIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertReservationsRequest:
        dups = duplicates([(r.asset_id, r.start_time, r.market, r.source.value) for r in self.reservations])
        if dups:
            raise ValueError(describe_duplicates(dups, ("asset_id", "start_time", "market", "source")))
        return self


class ReservationOut(WireModel):
    asset_id: str
    start_time: datetime
    end_time: datetime
    delivery_day: date
    market: str
    source: ReservationSource
    power: Power
    energy_change: Energy
    energy_buffer_low: Energy
    energy_buffer_high: Energy
    created_at: datetime
    updated_at: datetime


class UpsertReservationsResponse(WireModel):
    reservations: list[ReservationOut]


class ReservationQuery(WireModel):
    """The filter of ``GET /api/reservations`` (the page comes apart, as ``gridcommons.pagination.Page``)."""

    asset_ids: list[str]
    start: datetime
    end: datetime
    markets: list[str] | None = None
    sources: list[ReservationSource] | None = None


class ReservationListResponse(WireModel):
    limit: int
    offset: int
    reservations: list[ReservationOut]
