"""SQL of the forecasts domain. Every statement is scoped by company; batches are one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..periods import PeriodTable, PeriodWindow, read_window, upsert_batch
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


async def upsert(session: AsyncSession, company_id: int, columns: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One statement for the batch (``columns``: the unnest arrays, by parameter name)."""
    return await upsert_batch(session, UPSERT, company_id, columns)


READ = PeriodTable(forecasts, COLUMNS.split(", "), order_by=("asset_id", "start_time"))


async def list_forecasts(
    session: AsyncSession, company_id: int, window: PeriodWindow, page: Page
) -> list[dict[str, Any]]:
    return await read_window(session, READ, company_id, window, page)
