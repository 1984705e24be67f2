"""Events the reservations domain publishes on ``assets.reservation.v1`` (key: asset id).

One ``org.gridcommons.assets.reservation.upserted`` event per asset per accepted batch; ``data`` is
``{"asset_id", "reservations": [the asset's upserted rows]}`` (the payload model below); the rows are formatted once
for the response and the events (``gridcommons.serialization``), and a test holds them equal to the model.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import Energy, Power
from gridcommons.wire import WireModel

from ..periods import publish_per_asset
from .schemas import ReservationSource

TOPIC = "assets.reservation.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Reservation upserts: one event per asset per accepted batch and per 1,000 of the asset's rows; data: the asset id and its upserted reservations.",
)
UPSERTED = "org.gridcommons.assets.reservation.upserted"


class ReservationV1(WireModel):
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


class ReservationsUpsertedV1(WireModel):
    """The rows of one asset that one batch upserted (at most 1,000 per event)."""

    asset_id: str
    reservations: list[ReservationV1]


PAYLOADS = {UPSERTED: ReservationsUpsertedV1}


async def reservations_upserted(session: AsyncSession, company_id: int, rows: list[dict[str, Any]]) -> None:
    await publish_per_asset(
        session, topic=TOPIC, type=UPSERTED, company_id=company_id, rows=rows, items_key="reservations"
    )
