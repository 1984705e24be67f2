"""Events of dispatch history: ``org.gridcommons.assets.dispatch.recorded`` on ``assets.dispatch.v1``
(key: asset id), once per newly recorded dispatch command (redeliveries publish nothing); data =
``DispatchRecordedV1``, the entry (the fields ``GET /api/dispatches`` returns)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import Power
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import DispatchEntry

TOPIC = "assets.dispatch.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Dispatch commands recorded in the history: one event per newly recorded command from ingest.dispatches.v1 (redeliveries publish nothing); data: the entry, as GET /api/dispatches returns it.",
)
RECORDED = "org.gridcommons.assets.dispatch.recorded"


class DispatchRecordedV1(WireModel):
    """A recorded dispatch command."""

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


PAYLOADS = {RECORDED: DispatchRecordedV1}


async def dispatch_recorded(session: AsyncSession, company_id: int, entry: DispatchEntry) -> None:
    await outbox.publish(
        session,
        topic=TOPIC,
        type=RECORDED,
        subject=entry.asset_id,
        data=DispatchRecordedV1.from_row(dict(entry)),
        company_id=company_id,
    )
