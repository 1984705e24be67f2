"""SQL of logs: the batch write (COPY) and the operators' search. Every read is scoped by company and
cluster."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import SCHEMA
from .models import logs as t

COLUMNS = (
    "company_id",
    "community_code",
    "cluster_code",
    "program_id",
    "unit_id",
    "datetime",
    "loglevel",
    "loggername",
    "message",
    "thread",
    "address",
    "unitname",
)


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside its transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_rows(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write rows (tuples in ``COLUMNS`` order) with COPY, in the session's transaction: the fastest
    path into a partitioned table (PostgreSQL routes each row to its day's partition)."""
    if rows:
        conn = await driver_connection(session)
        await conn.copy_records_to_table(t.name, schema_name=SCHEMA, columns=COLUMNS, records=rows)


@dataclass(frozen=True)
class LogQuery:
    company_id: int
    community_code: str
    cluster_code: str
    unit_id: str | None = None
    program_id: str | None = None
    loglevel: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def search(session: AsyncSession, q: LogQuery, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The cluster's records matching the filters, newest first (then by program and unit)."""
    stmt = select(*[t.c[name] for name in COLUMNS[1:]]).where(
        t.c.company_id == q.company_id, t.c.community_code == q.community_code, t.c.cluster_code == q.cluster_code
    )
    if q.program_id is not None:
        stmt = stmt.where(t.c.program_id == q.program_id)
    if q.unit_id is not None:
        stmt = stmt.where(t.c.unit_id == q.unit_id)
    if q.loglevel is not None:
        stmt = stmt.where(t.c.loglevel == q.loglevel)
    if q.start is not None:
        stmt = stmt.where(t.c.datetime >= q.start)
    if q.end is not None:
        stmt = stmt.where(t.c.datetime < q.end)
    stmt = stmt.order_by(t.c.datetime.desc(), t.c.program_id, t.c.unit_id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
