"""Events of asset statuses: ``org.gridcommons.assets.status.changed`` on ``assets.status.v1`` (key: asset id).

One event per status entry that an ingestion created or changed (a redelivered batch publishes
nothing); data = the entry as ``GET /api/asset-statuses`` returns it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import AssetStatusEntry

TOPIC = "assets.status.v1"
CHANGED = "org.gridcommons.assets.status.changed"


async def statuses_changed(session: AsyncSession, company_id: int, entries: Sequence[AssetStatusEntry]) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=CHANGED,
        company_id=company_id,
        events=[(e.asset_id, e.model_dump(mode="json")) for e in entries],
    )
