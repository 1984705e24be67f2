"""Events the assets domain publishes on ``assets.asset.v1`` (key: asset id).

- ``...asset.created`` / ``...asset.updated`` / ``...asset.deleted``: data = ``AssetEventV1``, the asset
  (for ``deleted``: as it was just before deletion);
- ``...asset.lifecycle-changed``: data = ``AssetLifecycleChangedV1``,
  ``{"asset": <asset after>, "action", "from", "to"}``.

The payloads are schemas of their own, versioned with the topic: the REST ``AssetResponse`` may grow
without changing what consumers read.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import AssetLifecycle, AssetResponse, AssetType, DeliveryArea, LifecycleAction, Provider, Region

TOPIC = "assets.asset.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Asset master changes: created, updated, deleted (data: the asset; for deleted as it was just before) and lifecycle transitions (data: the asset after it, the action, the lifecycles before and after).",
)
CREATED = "org.gridcommons.assets.asset.created"
UPDATED = "org.gridcommons.assets.asset.updated"
DELETED = "org.gridcommons.assets.asset.deleted"
LIFECYCLE_CHANGED = "org.gridcommons.assets.asset.lifecycle-changed"


class AssetEventV1(WireModel):
    """An asset in the events of ``assets.asset.v1``."""

    id: str
    code: str
    name: str
    type: AssetType
    region: Region
    delivery_area: DeliveryArea
    lifecycle: AssetLifecycle
    provider: Provider
    go_live_date: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, asset: AssetResponse) -> AssetEventV1:
        return cls.from_row(asset.model_dump())


class AssetLifecycleChangedV1(WireModel):
    """A lifecycle transition: the asset after it, the action, and the lifecycles before and after."""

    model_config = ConfigDict(populate_by_name=True)

    asset: AssetEventV1
    action: LifecycleAction
    from_: AssetLifecycle = Field(alias="from")
    to: AssetLifecycle


PAYLOADS = {
    CREATED: AssetEventV1,
    UPDATED: AssetEventV1,
    DELETED: AssetEventV1,
    LIFECYCLE_CHANGED: AssetLifecycleChangedV1,
}


async def _publish(session: AsyncSession, company_id: int, type_: str, asset_id: str, data: WireModel) -> None:
    await outbox.publish(session, topic=TOPIC, type=type_, subject=asset_id, data=data, company_id=company_id)


async def asset_created(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, CREATED, asset.id, AssetEventV1.of(asset))


async def asset_updated(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, UPDATED, asset.id, AssetEventV1.of(asset))


async def asset_deleted(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, DELETED, asset.id, AssetEventV1.of(asset))


async def lifecycle_changed(
    session: AsyncSession,
    company_id: int,
    asset: AssetResponse,
    action: LifecycleAction,
    from_: AssetLifecycle,
    to: AssetLifecycle,
) -> None:
    data = AssetLifecycleChangedV1.model_validate(
        {"asset": AssetEventV1.of(asset), "action": action, "from": from_, "to": to}
    )
    await _publish(session, company_id, LIFECYCLE_CHANGED, asset.id, data)
