"""Events the reservations domain publishes on ``assets.reservation.v1`` (key: asset id).

One ``org.gridcommons.assets.reservation.upserted`` event per asset per accepted batch; ``data`` is
``{"asset_id", "reservations": [the asset's upserted rows, as the API returns them]}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..periods import publish_per_asset

TOPIC = "assets.reservation.v1"
UPSERTED = "org.gridcommons.assets.reservation.upserted"


async def reservations_upserted(session: AsyncSession, company_id: int, rows: list[dict[str, Any]]) -> None:
    await publish_per_asset(
        session, topic=TOPIC, type=UPSERTED, company_id=company_id, rows=rows, items_key="reservations"
    )
