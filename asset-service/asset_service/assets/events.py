"""Events the assets domain publishes on ``assets.asset.v1`` (key: asset id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import AssetResponse

TOPIC = "assets.asset.v1"
CREATED = "org.gridcommons.assets.asset.created"


async def asset_created(session: AsyncSession, company_id: int, asset: AssetResponse) -> None:
    data: dict[str, Any] = asset.model_dump(mode="json")
    await outbox.publish(session, topic=TOPIC, type=CREATED, subject=asset.id, data=data, company_id=company_id)
