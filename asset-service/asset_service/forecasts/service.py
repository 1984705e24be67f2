"""Rules of the forecasts domain. Answers are JSON-ready dicts in the shapes of ``schemas``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..assets.lookup import asset_regions_or_404
from ..periods import PeriodWindow, amount, iso_utc, period_columns, period_json, quantity, utc_window
from . import events, repository
from .schemas import UpsertForecastsRequest


async def upsert_forecasts(session: AsyncSession, company_id: int, body: UpsertForecastsRequest) -> dict[str, Any]:
    items = body.forecasts
    regions = await asset_regions_or_404(session, company_id, [f.asset_id for f in items], lock=True)
    rows = await repository.upsert(
        session,
        company_id,
        {
            **period_columns(items, regions),
            "generation": [f.generation.amount for f in items],
            "consumption": [f.consumption.amount for f in items],
            "fee": [f.import_from_grid_fee for f in items],
        },
    )
    rows.sort(key=lambda r: (r["asset_id"], r["start_time"]))
    out = [row_json(r) for r in rows]
    await events.forecasts_upserted(session, company_id, out)
    return {"forecasts": out}


async def list_forecasts(
    session: AsyncSession, company_id: int, asset_ids: list[str], start: datetime, end: datetime, page: Page
) -> dict[str, Any]:
    start, end = utc_window(start, end)
    rows = await repository.list_forecasts(session, company_id, PeriodWindow(asset_ids, start, end), page)
    return {"limit": page.limit, "offset": page.offset, "forecasts": [row_json(r) for r in rows]}


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A database row as the API writes it (the shape of ``ForecastOut``)."""
    return {
        **period_json(row),
        "generation": quantity(row["generation"], "MW"),
        "consumption": quantity(row["consumption"], "MW"),
        "import_from_grid_fee": amount(row["import_from_grid_fee"]),
        "created_at": iso_utc(row["created_at"]),
        "updated_at": iso_utc(row["updated_at"]),
    }
