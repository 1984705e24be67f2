"""SQL of failures: open (at most one open per key, whoever races), close, and the staff lists. Every
statement is scoped by company."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import SCHEMA
from ..logs.repository import driver_connection
from .models import failures as t

_RETURNED = "id, company_id, type, community_code, cluster_code, program_id, unit_id, detected, closed, close_reason, description"

# The partial unique index's key: a failure already open for a key makes its insert do nothing (also
# when another runner opened it a moment ago: the insert waits for that transaction, then skips).
OPEN = f"""
    INSERT INTO {SCHEMA}.failures (company_id, type, community_code, cluster_code, program_id, unit_id, detected, description)
    SELECT $1, $2, $3, $4, i.p, i.u, $5, i.d FROM unnest($6::text[], $7::text[], $8::text[]) AS i(p, u, d)
    ON CONFLICT (company_id, type, community_code, cluster_code, coalesce(program_id, ''), coalesce(unit_id, ''))
      WHERE closed IS NULL DO NOTHING
    RETURNING {_RETURNED}
"""
CLOSE = f"""
    UPDATE {SCHEMA}.failures f SET closed = $5, close_reason = $6
    FROM unnest($7::text[], $8::text[]) AS k(p, u)
    WHERE f.company_id = $1 AND f.type = $2 AND f.community_code = $3 AND f.cluster_code = $4 AND f.closed IS NULL
      AND coalesce(f.program_id, '') = coalesce(k.p, '') AND coalesce(f.unit_id, '') = coalesce(k.u, '')
    RETURNING {", ".join("f." + c.strip() for c in _RETURNED.split(","))}
"""
CLOSE_CLUSTERS = f"""
    UPDATE {SCHEMA}.failures f SET closed = $2, close_reason = $3
    FROM unnest($4::bigint[], $5::text[], $6::text[]) AS k(company_id, community_code, cluster_code)
    WHERE f.type = $1 AND f.closed IS NULL AND f.company_id = k.company_id
      AND f.community_code = k.community_code AND f.cluster_code = k.cluster_code
    RETURNING {", ".join("f." + c.strip() for c in _RETURNED.split(","))}
"""
# Open failures of per-unit jobs whose unit is no longer available (retired, or outside its window).
CLOSE_UNAVAILABLE = f"""
    UPDATE {SCHEMA}.failures f SET closed = $1, close_reason = $2
    WHERE f.closed IS NULL AND f.type = ANY($3::text[]) AND f.unit_id IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM {SCHEMA}.registry_units u
        WHERE u.company_id = f.company_id AND u.community_code = f.community_code
          AND u.cluster_code = f.cluster_code AND u.code = f.unit_id AND u.retired_at IS NULL
          AND (u.available_from IS NULL OR u.available_from <= $1) AND (u.available_to IS NULL OR $1 < u.available_to))
    RETURNING {_RETURNED}
"""


async def open_failures(
    session: AsyncSession,
    company_id: int,
    job_type: str,
    community: str,
    cluster: str,
    found: Sequence[tuple[str | None, str | None, str]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Open a failure for each (program, unit, description) whose key has none open; the rows opened."""
    if not found:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        OPEN,
        company_id,
        job_type,
        community,
        cluster,
        now,
        [f[0] for f in found],
        [f[1] for f in found],
        [f[2] for f in found],
    )
    return [dict(r) for r in rows]


async def close_failures(
    session: AsyncSession,
    company_id: int,
    job_type: str,
    community: str,
    cluster: str,
    keys: Sequence[tuple[str | None, str | None]],
    reason: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Close the open failures of these (program, unit) keys; the rows closed."""
    if not keys:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        CLOSE, company_id, job_type, community, cluster, now, reason, [k[0] for k in keys], [k[1] for k in keys]
    )
    return [dict(r) for r in rows]


async def close_clusters(
    session: AsyncSession, job_type: str, clusters: Sequence[tuple[int, str, str]], reason: str, now: datetime
) -> list[dict[str, Any]]:
    """Close every open failure of ``job_type`` in these (company, community, cluster); the rows closed."""
    if not clusters:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        CLOSE_CLUSTERS,
        job_type,
        now,
        reason,
        [c[0] for c in clusters],
        [c[1] for c in clusters],
        [c[2] for c in clusters],
    )
    return [dict(r) for r in rows]


async def close_unavailable(
    session: AsyncSession, job_types: Sequence[str], reason: str, now: datetime
) -> list[dict[str, Any]]:
    conn = await driver_connection(session)
    return [dict(r) for r in await conn.fetch(CLOSE_UNAVAILABLE, now, reason, list(job_types))]


async def listed(
    session: AsyncSession,
    company_id: int,
    community: str,
    cluster: str,
    *,
    open_only: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The cluster's failures ordered by detection (then id). ``start``/``end``: those overlapping
    [start, end): still open or closed at or after start, and detected before end."""
    stmt = select(t).where(t.c.company_id == company_id, t.c.community_code == community, t.c.cluster_code == cluster)
    if open_only:
        stmt = stmt.where(t.c.closed.is_(None))
    if start is not None:
        stmt = stmt.where(or_(t.c.closed.is_(None), t.c.closed >= start))
    if end is not None:
        stmt = stmt.where(t.c.detected < end)
    stmt = stmt.order_by(t.c.detected, t.c.id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
