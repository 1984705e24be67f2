"""Events the period-limits domain publishes on ``assets.limits.v1`` (key: asset id).

One event per asset per request: ``...limits.updated`` after a PATCH (data:
:class:`AssetLimitsWritten`, a summary of the window written, not the rows), and
``...limits.cleared`` after a DELETE (data: :class:`DeleteLimitsResponse`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import CloudEvent

from ..db import outbox
from .schemas import AssetLimitsWritten, DeleteLimitsResponse

TOPIC = "assets.limits.v1"
UPDATED = "org.gridcommons.assets.limits.updated"
CLEARED = "org.gridcommons.assets.limits.cleared"


async def _publish_many(session: AsyncSession, company_id: int, type: str, items: list[tuple[str, Any]]) -> None:
    """Like ``Outbox.publish`` for many events: one multi-row INSERT and one NOTIFY."""
    if not items:
        return
    rows = []
    for subject, data in items:
        event = CloudEvent(source=outbox.source, type=type, subject=subject, companyid=str(company_id), data=data)
        rows.append(
            {
                "event_id": event.id,
                "topic": TOPIC,
                "key": subject,
                "payload": event.model_dump(mode="json", exclude_none=True),
            }
        )
    await session.execute(insert(outbox.table).values(rows))
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": outbox.channel})


async def limits_updated(session: AsyncSession, company_id: int, written: list[AssetLimitsWritten]) -> None:
    await _publish_many(session, company_id, UPDATED, [(w.asset_id, w.model_dump(mode="json")) for w in written])


async def limits_cleared(session: AsyncSession, company_id: int, cleared: DeleteLimitsResponse) -> None:
    await _publish_many(session, company_id, CLEARED, [(cleared.asset_id, cleared.model_dump(mode="json"))])
