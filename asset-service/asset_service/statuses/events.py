"""Events of asset statuses: ``org.gridcommons.assets.status.changed`` on ``assets.status.v1`` (key: asset id).

One event per status entry that an ingestion created or changed (a redelivered batch publishes
nothing); data = ``StatusChangedV1``, the entry (the fields ``GET /api/asset-statuses`` returns).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import AssetStatus, AssetStatusEntry, ReasonCategory


class StatusReasonV1(WireModel):
    category: ReasonCategory
    detail: str | None
    source: str | None
    attributes: dict[str, Any]


class StatusChangedV1(WireModel):
    """A status entry that was new or changed."""

    asset_id: str
    status: AssetStatus
    effective_at: datetime
    reasons: list[StatusReasonV1]
    created_at: datetime


TOPIC = "assets.status.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Asset status changes from ingestion (HTTP and Kafka doors): one event per status entry that was new or changed (a redelivered batch publishes nothing); data: the entry, as GET /api/asset-statuses returns it.",
)
CHANGED = "org.gridcommons.assets.status.changed"
PAYLOADS = {CHANGED: StatusChangedV1}


async def statuses_changed(session: AsyncSession, company_id: int, entries: Sequence[AssetStatusEntry]) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=CHANGED,
        company_id=company_id,
        events=[(e.asset_id, StatusChangedV1.model_validate(e.model_dump())) for e in entries],
    )
