"""SQL of the reservations domain. Every statement is scoped by company; batches are one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..periods import PeriodTable, PeriodWindow, read_window, upsert_batch
from .models import reservations
from .schemas import ReservationQuery

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


async def upsert(session: AsyncSession, company_id: int, columns: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One statement for the batch (``columns``: the unnest arrays, by parameter name)."""
    return await upsert_batch(session, UPSERT, company_id, columns)


READ = PeriodTable(reservations, COLUMNS.split(", "), order_by=("asset_id", "start_time", "market", "source"))


async def list_reservations(
    session: AsyncSession, company_id: int, query: ReservationQuery, page: Page
) -> list[dict[str, Any]]:
    """``query``'s window must be in UTC (``periods.utc_window``)."""
    sources = [s.value for s in query.sources] if query.sources else None
    window = PeriodWindow(query.asset_ids, query.start, query.end, {"market": query.markets, "source": sources})
    return await read_window(session, READ, company_id, window, page)
