"""SQL of jobs: the clusters to watch (available units in the registry replica), job settings, the
passes' record, the newest unit data per cluster, and the window queries on the logs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import SCHEMA, community_replica
from .models import cluster_unit_data, job_passes, job_settings
from .rules import BLOCKED_LOGGER, BLOCKED_PATTERN, Job

ClusterKey = tuple[int, str, str]  # (company, community code, cluster code)


async def available_units(session: AsyncSession, now: datetime) -> dict[ClusterKey, list[str]]:
    """Every cluster with at least one unit available at ``now`` (not retired, inside its window), with
    those units' codes in code order (all companies: a pass watches the whole fleet)."""
    u = community_replica.units
    stmt = (
        select(u.c.company_id, u.c.community_code, u.c.cluster_code, u.c.code)
        .where(
            u.c.retired_at.is_(None),
            (u.c.available_from.is_(None)) | (u.c.available_from <= now),
            (u.c.available_to.is_(None)) | (u.c.available_to > now),
        )
        .order_by(u.c.company_id, u.c.community_code, u.c.cluster_code, u.c.code)
    )
    found: dict[ClusterKey, list[str]] = {}
    for r in (await session.execute(stmt)).all():
        found.setdefault((r[0], r[1], r[2]), []).append(r[3])
    return found


async def settings_of_type(session: AsyncSession, job_type: str) -> dict[ClusterKey, bool]:
    t = job_settings
    rows = await session.execute(
        select(t.c.company_id, t.c.community_code, t.c.cluster_code, t.c.is_active).where(t.c.type == job_type)
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows.all()}


async def settings_of_cluster(session: AsyncSession, key: ClusterKey) -> dict[str, bool]:
    t = job_settings
    rows = await session.execute(
        select(t.c.type, t.c.is_active).where(
            t.c.company_id == key[0], t.c.community_code == key[1], t.c.cluster_code == key[2]
        )
    )
    return {r[0]: r[1] for r in rows.all()}


async def set_active(session: AsyncSession, key: ClusterKey, job_type: str, active: bool) -> None:
    t = job_settings
    stmt = insert(t).values(
        company_id=key[0], community_code=key[1], cluster_code=key[2], type=job_type, is_active=active
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.company_id, t.c.community_code, t.c.cluster_code, t.c.type],
            set_={"is_active": stmt.excluded.is_active, "updated_at": func.now()},
        )
    )


async def claim_pass(session: AsyncSession, job_type: str, now: datetime, min_gap_seconds: float) -> bool:
    """Record a pass of ``job_type`` starting at ``now`` unless one started less than ``min_gap_seconds``
    ago (another replica just ran it)."""
    t = job_passes
    ins = insert(t).values(type=job_type, last_started=now)
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.type],
        set_={"last_started": ins.excluded.last_started, "last_finished": None},
        # a start "in the future" is a clock that went back: run rather than wait for it
        where=(t.c.last_started <= now - func.make_interval(0, 0, 0, 0, 0, 0, min_gap_seconds))
        | (t.c.last_started > now),
    ).returning(t.c.type)
    return (await session.execute(stmt)).first() is not None


async def finish_pass(session: AsyncSession, job_type: str, at: datetime) -> None:
    t = job_passes
    await session.execute(t.update().where(t.c.type == job_type).values(last_finished=at))


async def record_unit_data(session: AsyncSession, rows: Sequence[tuple[int, str, str, datetime]]) -> None:
    """Raise each cluster's newest unit data instant (one row per cluster)."""
    if not rows:
        return
    t = cluster_unit_data
    newest: dict[ClusterKey, datetime] = {}
    for company, community, cluster, at in rows:
        key = (company, community, cluster)
        if key not in newest or at > newest[key]:
            newest[key] = at
    stmt = insert(t)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.company_id, t.c.community_code, t.c.cluster_code],
            set_={"last_time": func.greatest(t.c.last_time, stmt.excluded.last_time)},
        ),
        [
            {"company_id": k[0], "community_code": k[1], "cluster_code": k[2], "last_time": at}
            for k, at in sorted(newest.items())
        ],
    )


async def unit_data_since(session: AsyncSession, key: ClusterKey, since: datetime) -> bool:
    t = cluster_unit_data
    row = await session.execute(
        select(t.c.last_time).where(
            t.c.company_id == key[0], t.c.community_code == key[1], t.c.cluster_code == key[2], t.c.last_time >= since
        )
    )
    return row.first() is not None


_SCOPE = (
    f"FROM {SCHEMA}.logs WHERE company_id = :company AND community_code = :community AND cluster_code = :cluster "
    "AND program_id = :program AND datetime >= :since"
)


async def alive_counts(
    session: AsyncSession, key: ClusterKey, job: Job, since: datetime, limit_ms: int, units: Sequence[str] | None
) -> dict[str | None, tuple[int, bool]]:
    """{unit (None for a per-cluster job): (lines proving life, a blocked-thread warning over the limit)}
    over the window; units without lines are absent."""
    group = "unit_id" if job.per_unit else "NULL::text"
    only_units = " AND unit_id = ANY(:units)" if units is not None else ""
    sql = text(
        f"SELECT {group} AS unit, "
        "count(*) FILTER (WHERE loglevel = 'INFO' AND message ~ :pattern) AS alive, "
        "coalesce(bool_or(loglevel = 'WARNING' AND loggername = :logger "
        "AND substring(message from :blocked)::numeric > :limit), false) AS blocked "
        f"{_SCOPE}{only_units} GROUP BY 1"
    )
    params: dict[str, Any] = {
        "company": key[0],
        "community": key[1],
        "cluster": key[2],
        "program": job.program_id,
        "since": since,
        "pattern": job.alive_pattern,
        "logger": BLOCKED_LOGGER,
        "blocked": BLOCKED_PATTERN,
        "limit": limit_ms,
    }
    if units is not None:
        params["units"] = list(units)
    rows = await session.execute(sql, params)
    return {r.unit: (int(r.alive), bool(r.blocked)) for r in rows.all()}


async def severe_lines(
    session: AsyncSession, key: ClusterKey, job: Job, since: datetime, max_lines: int, units: Sequence[str] | None
) -> dict[str | None, tuple[list[tuple[datetime, str | None, str | None]], int]]:
    """{unit (None for a per-cluster job): (its first ``max_lines`` SEVERE lines of the window by time
    as (datetime, loggername, message), how many it has in all)}; units without any are absent."""
    unit = "unit_id" if job.per_unit else "NULL::text"
    only_units = " AND unit_id = ANY(:units)" if units is not None else ""
    # Lines without a message count as severe whatever the exclusion (the original's $not matched them).
    exclude = " AND (message IS NULL OR message !~ :exclude)" if job.severe_exclude else ""
    sql = text(
        "SELECT unit, datetime, loggername, message, total FROM ("
        f"SELECT {unit} AS unit, datetime, loggername, message, "
        f"count(*) OVER (PARTITION BY {unit}) AS total, "
        f"row_number() OVER (PARTITION BY {unit} ORDER BY datetime) AS rn "
        f"{_SCOPE} AND loglevel = 'SEVERE'{exclude}{only_units}"
        ") s WHERE rn <= :max ORDER BY unit, datetime"
    )
    params: dict[str, Any] = {
        "company": key[0],
        "community": key[1],
        "cluster": key[2],
        "program": job.program_id,
        "since": since,
        "max": max_lines,
    }
    if job.severe_exclude:
        params["exclude"] = job.severe_exclude
    if units is not None:
        params["units"] = list(units)
    found: dict[str | None, tuple[list[tuple[datetime, str | None, str | None]], int]] = {}
    for r in (await session.execute(sql, params)).all():
        lines, _ = found.get(r.unit, ([], 0))
        lines.append((r.datetime, r.loggername, r.message))
        found[r.unit] = (lines, int(r.total))
    return found
