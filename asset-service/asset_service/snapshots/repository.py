"""SQL of the state-snapshots domain. Every statement is scoped by company; batches are one statement.

Energy flows are derived in SQL (window functions), so that per-row values and the totals see the
whole [from, to) range whatever the page: ``delta`` of a snapshot is its stored energy minus the
stored energy of the asset's previous *usable* snapshot (any quality but INVALID), looking before
``from`` for the first one in the range; charged = max(delta, 0), discharged = max(-delta, 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..periods import upsert_batch

COLUMNS = "asset_id, effective_at, stored_energy, reading_quality, created_at, updated_at"

UPSERT = text(
    f"""
    INSERT INTO asset.state_snapshots AS s (company_id, asset_id, effective_at, stored_energy, reading_quality)
    SELECT CAST(:company_id AS bigint), u.*
    FROM unnest(
        CAST(:asset_id AS text[]), CAST(:effective_at AS timestamptz[]),
        CAST(:stored_energy AS numeric[]), CAST(:reading_quality AS text[])
    ) AS u(asset_id, effective_at, stored_energy, reading_quality)
    ON CONFLICT (company_id, asset_id, effective_at) DO UPDATE SET
        stored_energy = EXCLUDED.stored_energy,
        reading_quality = EXCLUDED.reading_quality,
        updated_at = now()
    RETURNING {COLUMNS}
    """
)

_IDS = "ids AS (SELECT DISTINCT unnest(CAST(:asset_ids AS text[])) AS asset_id)"

# Shared tail: flows(…, delta) → charged/discharged per row, one page, totals over every row.
_TAIL = """
rows AS (
    SELECT f.asset_id, f.effective_at, f.stored_energy, f.reading_quality, f.created_at, f.updated_at,
           CASE WHEN f.delta IS NULL THEN NULL ELSE GREATEST(f.delta, 0) END AS charged_energy,
           CASE WHEN f.delta IS NULL THEN NULL ELSE GREATEST(-f.delta, 0) END AS discharged_energy
    FROM flows f
),
page AS (SELECT * FROM rows ORDER BY {order} LIMIT :limit OFFSET :offset),
totals AS (
    SELECT COALESCE(SUM(charged_energy), 0) AS total_charged_energy,
           COALESCE(SUM(discharged_energy), 0) AS total_discharged_energy
    FROM rows
)
SELECT totals.total_charged_energy, totals.total_discharged_energy, page.*
FROM totals LEFT JOIN page ON TRUE
ORDER BY {page_order}
"""

RANGE = text(
    f"""
WITH {_IDS},
inrange AS (
    SELECT s.asset_id, s.effective_at, s.stored_energy, s.reading_quality, s.created_at, s.updated_at
    FROM asset.state_snapshots s
    WHERE s.company_id = :company_id
      AND s.asset_id IN (SELECT asset_id FROM ids)
      AND s.effective_at >= COALESCE(CAST(:start AS timestamptz), '-infinity'::timestamptz)
      AND s.effective_at < CAST(:end AS timestamptz)
),
before AS (
    SELECT p.asset_id, p.effective_at, p.stored_energy
    FROM ids CROSS JOIN LATERAL (
        SELECT s.asset_id, s.effective_at, s.stored_energy
        FROM asset.state_snapshots s
        WHERE s.company_id = :company_id AND s.asset_id = ids.asset_id
          AND s.effective_at < CAST(:start AS timestamptz) AND s.reading_quality <> 'INVALID'
        ORDER BY s.effective_at DESC
        LIMIT 1
    ) p
),
usable AS (
    SELECT asset_id, effective_at, stored_energy, TRUE AS in_range FROM inrange WHERE reading_quality <> 'INVALID'
    UNION ALL
    SELECT asset_id, effective_at, stored_energy, FALSE FROM before
),
deltas AS (
    SELECT asset_id, effective_at, in_range,
           stored_energy - LAG(stored_energy) OVER (PARTITION BY asset_id ORDER BY effective_at) AS delta
    FROM usable
),
flows AS (
    SELECT i.*, d.delta
    FROM inrange i
    LEFT JOIN deltas d ON d.in_range AND d.asset_id = i.asset_id AND d.effective_at = i.effective_at
),
{_TAIL.format(order="effective_at, asset_id", page_order="page.effective_at, page.asset_id")}
"""
)

LATEST = text(
    f"""
WITH {_IDS},
latest AS (
    SELECT l.*
    FROM ids CROSS JOIN LATERAL (
        SELECT s.asset_id, s.effective_at, s.stored_energy, s.reading_quality, s.created_at, s.updated_at
        FROM asset.state_snapshots s
        WHERE s.company_id = :company_id AND s.asset_id = ids.asset_id
        ORDER BY s.effective_at DESC
        LIMIT 1
    ) l
),
flows AS (
    SELECT l.*,
           CASE WHEN l.reading_quality <> 'INVALID' THEN l.stored_energy - p.stored_energy END AS delta
    FROM latest l
    LEFT JOIN LATERAL (
        SELECT s.stored_energy
        FROM asset.state_snapshots s
        WHERE s.company_id = :company_id AND s.asset_id = l.asset_id
          AND s.effective_at < l.effective_at AND s.reading_quality <> 'INVALID'
        ORDER BY s.effective_at DESC
        LIMIT 1
    ) p ON TRUE
),
{_TAIL.format(order="asset_id", page_order="page.asset_id")}
"""
)


async def upsert(session: AsyncSession, company_id: int, columns: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One statement for the batch (``columns``: the unnest arrays, by parameter name)."""
    return await upsert_batch(session, UPSERT, company_id, columns)


async def read(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    *,
    latest: bool,
    start: datetime | None,
    end: datetime,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    """(page rows, total charged, total discharged)."""
    params: dict[str, Any] = {"company_id": company_id, "asset_ids": asset_ids, "limit": limit, "offset": offset}
    if latest:
        result = await session.execute(LATEST, params)
    else:
        result = await session.execute(RANGE, {**params, "start": start, "end": end})
    rows = [dict(r._mapping) for r in result]
    charged, discharged = rows[0]["total_charged_energy"], rows[0]["total_discharged_energy"]
    page = [
        {k: v for k, v in r.items() if k not in ("total_charged_energy", "total_discharged_energy")}
        for r in rows
        if r["asset_id"] is not None
    ]
    return page, charged, discharged
