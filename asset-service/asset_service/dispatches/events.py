"""Events of dispatch history: ``org.gridcommons.assets.dispatch.recorded`` on ``assets.dispatch.v1``
(key: asset id), once per newly recorded dispatch command (redeliveries publish nothing); data = the
entry as ``GET /api/dispatches`` returns it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import DispatchEntry

TOPIC = "assets.dispatch.v1"
RECORDED = "org.gridcommons.assets.dispatch.recorded"


async def dispatch_recorded(session: AsyncSession, company_id: int, entry: DispatchEntry) -> None:
    await outbox.publish(
        session,
        topic=TOPIC,
        type=RECORDED,
        subject=entry.asset_id,
        data=entry.model_dump(mode="json"),
        company_id=company_id,
    )
