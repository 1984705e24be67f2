"""Events the period-limits domain publishes on ``assets.limits.v1`` (key: asset id).

One event per asset per request: ``...limits.updated`` after a PATCH (data: ``LimitsUpdatedV1``, a
summary of the window written, not the rows), and ``...limits.cleared`` after a DELETE (data:
``LimitsClearedV1``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import AssetLimitsWritten, DeleteLimitsResponse, LimitSource

TOPIC = "assets.limits.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Period limits: one event per asset per request, updated after a PATCH (a summary of the window written, not the rows) and cleared after a DELETE.",
)
UPDATED = "org.gridcommons.assets.limits.updated"
CLEARED = "org.gridcommons.assets.limits.cleared"


class LimitsUpdatedV1(WireModel):
    """What one PATCH wrote for one asset: sources, the window [start_time, end_time), rows and entries."""

    asset_id: str
    sources: list[LimitSource]
    start_time: datetime
    end_time: datetime
    rows: int
    entries: int


class LimitsClearedV1(WireModel):
    """What one DELETE did to one asset's rows of one source in [start_time, end_time)."""

    asset_id: str
    source: LimitSource
    start_time: datetime
    end_time: datetime
    cleared: int
    removed: int


PAYLOADS = {UPDATED: LimitsUpdatedV1, CLEARED: LimitsClearedV1}


async def limits_updated(session: AsyncSession, company_id: int, written: list[AssetLimitsWritten]) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=UPDATED,
        company_id=company_id,
        events=[(w.asset_id, LimitsUpdatedV1.model_validate(w.model_dump())) for w in written],
    )


async def limits_cleared(session: AsyncSession, company_id: int, cleared: DeleteLimitsResponse) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=CLEARED,
        company_id=company_id,
        events=[(cleared.asset_id, LimitsClearedV1.model_validate(cleared.model_dump()))],
    )
