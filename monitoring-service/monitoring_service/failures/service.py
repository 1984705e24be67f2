"""Rules of failures: opened once per key, closed by the next OK (or by the job's deactivation, or the
unit's retirement) — each open and close publishes ``monitoring.failure.v1`` in the same transaction —
and the staff lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import ClusterRef
from gridcommons.timeutil import iso_utc

from ..db import outbox
from ..params import Window
from . import repository
from .events import CLOSED, DETECTED, TOPIC, FailureV1

REASON_OK = "ok"
REASON_DEACTIVATED = "job deactivated"
REASON_RETIRED = "unit retired"


def event_data(row: dict[str, Any]) -> dict[str, Any]:
    """``FailureV1`` of a failure's row, as JSON-ready data."""
    return FailureV1(
        failure_id=row["id"],
        status="detected" if row["closed"] is None else "closed",
        type=row["type"],
        community_id=row["community_code"],
        cluster_id=row["cluster_code"],
        program_id=row["program_id"],
        unit_id=row["unit_id"],
        detected=row["detected"],
        closed=row["closed"],
        close_reason=row["close_reason"],
        description=row["description"],
    ).model_dump(mode="json")


async def publish(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One event per failure opened or closed, grouped by company, in the rows' order."""
    by_kind: dict[tuple[int, str], list[tuple[str, Any]]] = {}
    for row in rows:
        kind = DETECTED if row["closed"] is None else CLOSED
        by_kind.setdefault((row["company_id"], kind), []).append((str(row["id"]), event_data(row)))
    for (company_id, kind), events in by_kind.items():
        await outbox.publish_many(session, topic=TOPIC, type=kind, company_id=company_id, events=events)


async def open_failures(
    session: AsyncSession,
    company_id: int,
    job_type: str,
    community: str,
    cluster: str,
    found: Sequence[tuple[str | None, str | None, str]],
    now: datetime,
) -> list[dict[str, Any]]:
    """NG: a failure for each (program, unit, description) whose key has none open (an open one is left
    as it is, description included); each opened publishes ``detected``."""
    opened = await repository.open_failures(session, company_id, job_type, community, cluster, found, now)
    await publish(session, opened)
    return opened


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
    """OK (or another reason): close the open failures of these (program, unit) keys; each closed
    publishes ``closed``."""
    closed = await repository.close_failures(session, company_id, job_type, community, cluster, keys, reason, now)
    await publish(session, closed)
    return closed


async def close_clusters(
    session: AsyncSession, job_type: str, clusters: Sequence[tuple[int, str, str]], reason: str, now: datetime
) -> list[dict[str, Any]]:
    closed = await repository.close_clusters(session, job_type, clusters, reason, now)
    await publish(session, closed)
    return closed


async def close_unavailable(session: AsyncSession, job_types: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Close the open failures of per-unit jobs whose unit is retired or outside its availability window."""
    closed = await repository.close_unavailable(session, job_types, REASON_RETIRED, now)
    await publish(session, closed)
    return closed


def instant(value: datetime | None) -> str | None:
    """An instant as the seed writes them: UTC with ``Z``, milliseconds only when non-zero."""
    if value is None:
        return None
    return iso_utc(value, timespec="milliseconds" if value.microsecond else "seconds")


def answer(row: dict[str, Any]) -> dict[str, Any]:
    """A failure in the seed's shape."""
    return {
        "id": row["id"],
        "type": row["type"],
        "community_id": row["community_code"],
        "cluster_id": row["cluster_code"],
        "program_id": row["program_id"],
        "unit_id": row["unit_id"],
        "detected": instant(row["detected"]),
        "closed": instant(row["closed"]),
        "description": row["description"],
    }


async def listed(
    session: AsyncSession,
    cluster: ClusterRef,
    *,
    open_only: bool = False,
    window: Window | None = None,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    rows = await repository.listed(
        session,
        cluster.company_id,
        cluster.community_code,
        cluster.cluster_code,
        open_only=open_only,
        start=None if window is None else window.start,
        end=None if window is None else window.end,
        limit=limit,
        offset=offset,
    )
    return [answer(r) for r in rows]
