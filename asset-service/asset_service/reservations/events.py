"""Events the reservations domain publishes on ``assets.reservation.v1`` (key: asset id).

One ``org.gridcommons.assets.reservation.upserted`` event per asset per accepted batch; ``data`` is
``{"asset_id", "reservations": [the asset's upserted rows, as the API returns them]}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..forecasts.common import publish_many

TOPIC = "assets.reservation.v1"
UPSERTED = "org.gridcommons.assets.reservation.upserted"


async def reservations_upserted(session: AsyncSession, company_id: int, rows: list[dict[str, Any]]) -> None:
    per_asset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_asset.setdefault(row["asset_id"], []).append(row)
    await publish_many(
        session,
        topic=TOPIC,
        type=UPSERTED,
        company_id=company_id,
        events=[(asset_id, {"asset_id": asset_id, "reservations": items}) for asset_id, items in per_asset.items()],
    )
