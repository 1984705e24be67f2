"""Rules of the state-snapshots domain. Answers are JSON-ready dicts in the shapes of ``schemas``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.timeutil import utcnow

from ..assets.lookup import asset_regions
from ..periods import as_utc, check_window, iso_utc, quantity
from . import events, repository
from .schemas import UpsertStateSnapshotsRequest


async def upsert_snapshots(session: AsyncSession, company_id: int, body: UpsertStateSnapshotsRequest) -> dict[str, Any]:
    items = body.state_snapshots
    known = await asset_regions(session, company_id, [s.asset_id for s in items], lock=True)
    unknown = [(i, s.asset_id) for i, s in enumerate(items) if s.asset_id not in known]
    if unknown:
        # The seed: 422 identifying all offending ids (one error per offending item, FastAPI's shape).
        raise ValidationFailed(
            field_error(["body", "state_snapshots", i, "asset_id"], f"unknown asset id {asset_id}", asset_id)
            for i, asset_id in unknown
        )
    rows = await repository.upsert(
        session,
        company_id,
        {
            "asset_id": [s.asset_id for s in items],
            "effective_at": [s.effective_at for s in items],
            "stored_energy": [s.stored_energy.amount for s in items],
            "reading_quality": [s.reading_quality.value for s in items],
        },
    )
    rows.sort(key=lambda r: (r["asset_id"], r["effective_at"]))
    out = [row_json(r) for r in rows]
    await events.snapshots_upserted(session, company_id, out)
    return {"state_snapshots": out}


async def read_snapshots(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    *,
    latest: bool,
    start: datetime | None,
    end: datetime | None,
    page: Page,
) -> dict[str, Any]:
    if latest and (start is not None or end is not None):
        given = [n for n, v in (("from", start), ("to", end)) if v is not None]
        raise ValidationFailed(
            [field_error(["query", "latest"], f"latest=true cannot be combined with {' or '.join(given)}", True)]
        )
    start = as_utc(start) if start is not None else None
    if end is not None:
        end = as_utc(end)
        if start is not None:
            check_window(start, end)
    else:
        end = utcnow()
    rows, charged, discharged = await repository.read(
        session, company_id, asset_ids, latest=latest, start=start, end=end, limit=page.limit, offset=page.offset
    )
    return {
        "state_snapshots": [row_json(r) for r in rows],
        "limit": page.limit,
        "offset": page.offset,
        "total_charged_energy": quantity(charged, "MWh"),
        "total_discharged_energy": quantity(discharged, "MWh"),
    }


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A database row as the API writes it (``StateSnapshotOut``, or ``StateSnapshotRead`` with flows)."""
    out = {
        "asset_id": row["asset_id"],
        "effective_at": iso_utc(row["effective_at"]),
        "stored_energy": quantity(row["stored_energy"], "MWh"),
        "reading_quality": row["reading_quality"],
    }
    if "charged_energy" in row:
        out["charged_energy"] = quantity(row["charged_energy"], "MWh")
        out["discharged_energy"] = quantity(row["discharged_energy"], "MWh")
    out["created_at"] = iso_utc(row["created_at"])
    out["updated_at"] = iso_utc(row["updated_at"])
    return out
