"""SQL of the reservations domain. Every statement is scoped by company; batches are one statement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import reservations

COLUMNS = (
    "asset_id, start_time, end_time, delivery_day, market, source, power, energy_change, "
    "energy_buffer_low, energy_buffer_high, created_at, updated_at"
)

UPSERT = text(
    f"""
    INSERT INTO asset.reservations AS r
        (company_id, asset_id, start_time, end_time, delivery_day, market, source,
         power, energy_change, energy_buffer_low, energy_buffer_high)
    SELECT CAST(:company_id AS bigint), u.*
    FROM unnest(
        CAST(:asset_id AS text[]), CAST(:start_time AS timestamptz[]), CAST(:end_time AS timestamptz[]),
        CAST(:delivery_day AS date[]), CAST(:market AS text[]), CAST(:source AS text[]),
        CAST(:power AS numeric[]), CAST(:energy_change AS numeric[]),
        CAST(:energy_buffer_low AS numeric[]), CAST(:energy_buffer_high AS numeric[])
    ) AS u(asset_id, start_time, end_time, delivery_day, market, source,
           power, energy_change, energy_buffer_low, energy_buffer_high)
    ON CONFLICT (company_id, asset_id, start_time, market, source) DO UPDATE SET
        end_time = EXCLUDED.end_time,
        delivery_day = EXCLUDED.delivery_day,
        power = EXCLUDED.power,
        energy_change = EXCLUDED.energy_change,
        energy_buffer_low = EXCLUDED.energy_buffer_low,
        energy_buffer_high = EXCLUDED.energy_buffer_high,
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
    market: list[str],
    source: list[str],
    power: list[Decimal],
    energy_change: list[Decimal],
    energy_buffer_low: list[Decimal],
    energy_buffer_high: list[Decimal],
) -> list[dict[str, Any]]:
    result = await session.execute(
        UPSERT,
        {
            "company_id": company_id,
            "asset_id": asset_id,
            "start_time": start_time,
            "end_time": end_time,
            "delivery_day": delivery_day,
            "market": market,
            "source": source,
            "power": power,
            "energy_change": energy_change,
            "energy_buffer_low": energy_buffer_low,
            "energy_buffer_high": energy_buffer_high,
        },
    )
    return [dict(r._mapping) for r in result]


async def list_reservations(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    start: datetime,
    end: datetime,
    markets: list[str] | None,
    sources: list[str] | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    r = reservations.c
    stmt = select(
        r.asset_id,
        r.start_time,
        r.end_time,
        r.delivery_day,
        r.market,
        r.source,
        r.power,
        r.energy_change,
        r.energy_buffer_low,
        r.energy_buffer_high,
        r.created_at,
        r.updated_at,
    ).where(r.company_id == company_id, r.asset_id.in_(asset_ids), r.start_time >= start, r.start_time < end)
    if markets:
        stmt = stmt.where(r.market.in_(markets))
    if sources:
        stmt = stmt.where(r.source.in_(sources))
    stmt = stmt.order_by(r.asset_id, r.start_time, r.market, r.source).limit(limit).offset(offset)
    return [dict(row._mapping) for row in await session.execute(stmt)]
