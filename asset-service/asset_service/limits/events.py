"""Events the period-limits domain publishes on ``assets.limits.v1`` (key: asset id).

One event per asset per request: ``...limits.updated`` after a PATCH (data:
:class:`AssetLimitsWritten`, a summary of the window written, not the rows), and
``...limits.cleared`` after a DELETE (data: :class:`DeleteLimitsResponse`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import AssetLimitsWritten, DeleteLimitsResponse

TOPIC = "assets.limits.v1"
UPDATED = "org.gridcommons.assets.limits.updated"
CLEARED = "org.gridcommons.assets.limits.cleared"


async def limits_updated(session: AsyncSession, company_id: int, written: list[AssetLimitsWritten]) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=UPDATED,
        company_id=company_id,
        events=[(w.asset_id, w.model_dump(mode="json")) for w in written],
    )


async def limits_cleared(session: AsyncSession, company_id: int, cleared: DeleteLimitsResponse) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=CLEARED,
        company_id=company_id,
        events=[(cleared.asset_id, cleared.model_dump(mode="json"))],
    )
