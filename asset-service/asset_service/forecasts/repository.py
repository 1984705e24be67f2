"""SQL of the forecasts domain. Every statement is scoped by company; batches are one statement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import forecasts

COLUMNS = (
    "asset_id, start_time, end_time, delivery_day, generation, consumption, import_from_grid_fee, "
    "created_at, updated_at"
)

UPSERT = text(
    f"""
    INSERT INTO asset.forecasts AS f
        (company_id, asset_id, start_time, end_time, delivery_day, generation, consumption, import_from_grid_fee)
    SELECT CAST(:company_id AS bigint), u.*
    FROM unnest(
        CAST(:asset_id AS text[]), CAST(:start_time AS timestamptz[]), CAST(:end_time AS timestamptz[]),
        CAST(:delivery_day AS date[]), CAST(:generation AS numeric[]), CAST(:consumption AS numeric[]),
        CAST(:fee AS numeric[])
    ) AS u(asset_id, start_time, end_time, delivery_day, generation, consumption, import_from_grid_fee)
    ON CONFLICT (company_id, asset_id, start_time) DO UPDATE SET
        end_time = EXCLUDED.end_time,
        delivery_day = EXCLUDED.delivery_day,
        generation = EXCLUDED.generation,
        consumption = EXCLUDED.consumption,
        import_from_grid_fee = EXCLUDED.import_from_grid_fee,
        updated_at = now()
    RETURNING {COLUMNS}
    """
)


async def upsert(
    session: AsyncSession,
    company_id: int,
    *,
    asset_id: list[str],
    start_time: list[datetime],
    end_time: list[datetime],
    delivery_day: list[date],
    generation: list[Decimal],
    consumption: list[Decimal],
    fee: list[Decimal | None],
) -> list[dict[str, Any]]:
    result = await session.execute(
        UPSERT,
        {
            "company_id": company_id,
            "asset_id": asset_id,
            "start_time": start_time,
            "end_time": end_time,
            "delivery_day": delivery_day,
            "generation": generation,
            "consumption": consumption,
            "fee": fee,
        },
    )
    return [dict(r._mapping) for r in result]


async def list_forecasts(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    start: datetime,
    end: datetime,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    f = forecasts.c
    stmt = (
        select(
            f.asset_id,
            f.start_time,
            f.end_time,
            f.delivery_day,
            f.generation,
            f.consumption,
            f.import_from_grid_fee,
            f.created_at,
            f.updated_at,
        )
        .where(f.company_id == company_id, f.asset_id.in_(asset_ids), f.start_time >= start, f.start_time < end)
        .order_by(f.asset_id, f.start_time)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in await session.execute(stmt)]
