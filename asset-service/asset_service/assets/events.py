"""Events the assets domain publishes on ``assets.asset.v1`` (key: asset id).

- ``...asset.created`` / ``...asset.updated`` / ``...asset.deleted``: data = the asset as the API
  returns it (for ``deleted``: as it was just before deletion).
- ``...asset.lifecycle-changed``: data = ``{"asset": <asset after>, "action", "from", "to"}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import AssetLifecycle, AssetResponse, LifecycleAction

TOPIC = "assets.asset.v1"
CREATED = "org.gridcommons.assets.asset.created"
UPDATED = "org.gridcommons.assets.asset.updated"
DELETED = "org.gridcommons.assets.asset.deleted"
LIFECYCLE_CHANGED = "org.gridcommons.assets.asset.lifecycle-changed"


async def _publish(session: AsyncSession, company_id: int, type_: str, asset_id: str, data: dict[str, Any]) -> None:
    await outbox.publish(session, topic=TOPIC, type=type_, subject=asset_id, data=data, company_id=company_id)


async def asset_created(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, CREATED, asset.id, asset.model_dump(mode="json"))


async def asset_updated(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, UPDATED, asset.id, asset.model_dump(mode="json"))


async def asset_deleted(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    await _publish(session, company_id, DELETED, asset.id, asset.model_dump(mode="json"))


async def lifecycle_changed(
    session: AsyncSession,
    company_id: int,
    asset: AssetResponse,
    action: LifecycleAction,
    from_: AssetLifecycle,
    to: AssetLifecycle,
) -> None:
    data = {"asset": asset.model_dump(mode="json"), "action": action.value, "from": from_.value, "to": to.value}
    await _publish(session, company_id, LIFECYCLE_CHANGED, asset.id, data)
