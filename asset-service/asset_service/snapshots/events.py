"""Events the state-snapshots domain publishes on ``assets.state-snapshot.v1`` (key: asset id).

One ``org.gridcommons.assets.state-snapshot.upserted`` event per asset per accepted batch (and per
1,000 of the asset's rows); ``data`` is ``{"asset_id", "state_snapshots": [the asset's upserted rows,
as the API returns them]}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import Energy
from gridcommons.wire import WireModel

from ..periods import publish_per_asset
from .schemas import ReadingQuality

TOPIC = "assets.state-snapshot.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="State snapshot upserts: one event per asset per accepted batch and per 1,000 of the asset's rows; data: the asset id and its upserted rows.",
)
UPSERTED = "org.gridcommons.assets.state-snapshot.upserted"


class StateSnapshotV1(WireModel):
    asset_id: str
    effective_at: datetime
    stored_energy: Energy
    reading_quality: ReadingQuality
    created_at: datetime
    updated_at: datetime


class StateSnapshotsUpsertedV1(WireModel):
    """The rows of one asset that one batch upserted (at most 1,000 per event)."""

    asset_id: str
    state_snapshots: list[StateSnapshotV1]


PAYLOADS = {UPSERTED: StateSnapshotsUpsertedV1}


async def snapshots_upserted(session: AsyncSession, company_id: int, rows: list[dict[str, Any]]) -> None:
    await publish_per_asset(
        session, topic=TOPIC, type=UPSERTED, company_id=company_id, rows=rows, items_key="state_snapshots"
    )
