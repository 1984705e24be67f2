"""Events the forecasts domain publishes on ``assets.forecast.v1`` (key: asset id).

One ``org.gridcommons.assets.forecast.upserted`` event per asset per accepted batch; ``data`` is
``{"asset_id", "periods": [the asset's upserted rows]}`` (the payload model below); the rows are formatted once
for the response and the events (``gridcommons.serialization``), and a test holds them equal to the model.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import DecimalAmount, Power
from gridcommons.wire import WireModel

from ..periods import publish_per_asset

TOPIC = "assets.forecast.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Forecast upserts: one event per asset per accepted batch and per 1,000 of the asset's rows; data: the asset id and its upserted periods.",
)
UPSERTED = "org.gridcommons.assets.forecast.upserted"


class ForecastV1(WireModel):
    asset_id: str
    start_time: datetime
    end_time: datetime
    delivery_day: date
    generation: Power
    consumption: Power
    import_from_grid_fee: DecimalAmount | None
    created_at: datetime
    updated_at: datetime


class ForecastsUpsertedV1(WireModel):
    """The rows of one asset that one batch upserted (at most 1,000 per event)."""

    asset_id: str
    periods: list[ForecastV1]


PAYLOADS = {UPSERTED: ForecastsUpsertedV1}


async def forecasts_upserted(session: AsyncSession, company_id: int, rows: list[dict[str, Any]]) -> None:
    await publish_per_asset(session, topic=TOPIC, type=UPSERTED, company_id=company_id, rows=rows, items_key="periods")
