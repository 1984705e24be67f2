"""Rules of the reservations domain. Answers are JSON-ready dicts in the shapes of ``schemas``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..assets.lookup import asset_regions_or_404
from ..periods import iso_utc, period_columns, period_json, quantity, utc_window
from . import events, repository
from .schemas import ReservationQuery, UpsertReservationsRequest


async def upsert_reservations(
    session: AsyncSession, company_id: int, body: UpsertReservationsRequest
) -> dict[str, Any]:
    items = body.reservations
    regions = await asset_regions_or_404(session, company_id, [r.asset_id for r in items], lock=True)
    rows = await repository.upsert(
        session,
        company_id,
        {
            **period_columns(items, regions),
            "market": [r.market for r in items],
            "source": [r.source.value for r in items],
            "power": [r.power.amount for r in items],
            "energy_change": [r.energy_change.amount for r in items],
            "energy_buffer_low": [r.energy_buffer_low.amount for r in items],
            "energy_buffer_high": [r.energy_buffer_high.amount for r in items],
        },
    )
    rows.sort(key=lambda r: (r["asset_id"], r["start_time"], r["market"], r["source"]))
    out = [row_json(r) for r in rows]
    await events.reservations_upserted(session, company_id, out)
    return {"reservations": out}


async def list_reservations(
    session: AsyncSession, company_id: int, query: ReservationQuery, page: Page
) -> dict[str, Any]:
    start, end = utc_window(query.start, query.end)
    rows = await repository.list_reservations(
        session, company_id, query.model_copy(update={"start": start, "end": end}), page
    )
    return {"limit": page.limit, "offset": page.offset, "reservations": [row_json(r) for r in rows]}


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A database row as the API writes it (the shape of ``ReservationOut``)."""
    return {
        **period_json(row),
        "market": row["market"],
        "source": row["source"],
        "power": quantity(row["power"], "MW"),
        "energy_change": quantity(row["energy_change"], "MWh"),
        "energy_buffer_low": quantity(row["energy_buffer_low"], "MWh"),
        "energy_buffer_high": quantity(row["energy_buffer_high"], "MWh"),
        "created_at": iso_utc(row["created_at"]),
        "updated_at": iso_utc(row["updated_at"]),
    }
