"""SQL of readings. The batch write is one statement on the session's own asyncpg connection (so it
runs in the request's or the consumer's transaction): readings arrive as four arrays (``unnest``) or
through COPY into a temporary table, then one ``INSERT ... ON CONFLICT DO UPDATE`` applies the
upsert rule and returns, per series, what it wrote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..db import SCHEMA
from .models import readings


@dataclass(frozen=True)
class WritePlan:
    """How a batch reaches the table: the append fast path first (``append_copy``), then the upsert
    rule as one statement fed by ``unnest`` arrays or by COPY into a temporary table (``merge``); then,
    with ``rollups``, the rollups of the days written are recomputed in the same transaction."""

    merge: Literal["unnest", "copy"] = "unnest"
    append_copy: bool = True
    rollups: bool = True


# The upsert rule: the same (series, instant) again replaces the stored reading when its quality rank
# is equal or higher; an identical reading is not rewritten (a replay writes nothing, publishes nothing).
_APPLY = """
    ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality
    WHERE excluded.quality >= r.quality
      AND (r.value, r.quality) IS DISTINCT FROM (excluded.value, excluded.quality)
    RETURNING r.series_id, r.ts, r.quality
)
SELECT series_id, min(ts) AS first, max(ts) AS last, count(*) AS count,
       count(*) FILTER (WHERE quality = 1) AS provisional,
       count(*) FILTER (WHERE quality = 2) AS estimated,
       count(*) FILTER (WHERE quality = 3) AS measured,
       count(*) FILTER (WHERE quality = 4) AS corrected
FROM written GROUP BY series_id ORDER BY series_id
"""
UPSERT_UNNEST = f"""
WITH written AS (
    INSERT INTO {SCHEMA}.readings AS r (series_id, ts, value, quality)
    SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::numeric[], $4::smallint[])
    {_APPLY}"""
STAGING = "readings_incoming"
CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} "
    "(series_id bigint, ts timestamptz, value numeric, quality smallint) ON COMMIT DELETE ROWS"
)
UPSERT_STAGED = f"""
WITH written AS (
    INSERT INTO {SCHEMA}.readings AS r (series_id, ts, value, quality)
    SELECT series_id, ts, value, quality FROM {STAGING}
    {_APPLY}"""


@dataclass(frozen=True)
class Written:
    """What one batch wrote to one series."""

    series_id: int
    first: datetime
    last: datetime
    count: int
    qualities: dict[str, int]


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside its transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


QUALITY_NAMES = {1: "provisional", 2: "estimated", 3: "measured", 4: "corrected"}

# True when no stored reading lies within [first, last] of any series of the batch (one index probe each).
RANGES_FREE = f"""
SELECT NOT EXISTS (
    SELECT 1 FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS b(series_id, first, last)
    WHERE EXISTS (
        SELECT 1 FROM {SCHEMA}.readings r WHERE r.series_id = b.series_id AND r.ts BETWEEN b.first AND b.last
    )
)"""


def _appended(series_ids: Sequence[int], times: Sequence[datetime], qualities: Sequence[int]) -> list[Written]:
    """What an append wrote, per series (the readings are sorted by series, then time)."""
    out: list[Written] = []
    start = 0
    n = len(series_ids)
    while start < n:
        sid = series_ids[start]
        end = start
        while end < n and series_ids[end] == sid:
            end += 1
        counts: dict[str, int] = {}
        for q in qualities[start:end]:
            counts[QUALITY_NAMES[q]] = counts.get(QUALITY_NAMES[q], 0) + 1
        out.append(Written(sid, times[start], times[end - 1], end - start, counts))
        start = end
    return out


def copy_text(
    series_ids: Sequence[int],
    times: Sequence[datetime],
    values: Sequence[Decimal],
    qualities: Sequence[int],
    time_texts: Sequence[str | None] | None = None,
) -> bytes:
    """The rows in COPY's text format. About ten times less CPU in the service than asyncpg's binary
    ``copy_records_to_table`` (≈ 2 µs a row, most of it per-record encoding), and less in total with
    PostgreSQL's parsing counted (bench/README.md, ``metering_ingest``). None of the texts holds a tab,
    newline or backslash: integers, decimals in plain or exponent notation, ISO 8601 instants."""
    if time_texts is None:
        time_texts = [None] * len(times)
    return "".join(
        [
            f"{s}\t{text or t.isoformat()}\t{v}\t{q}\n"
            for s, t, text, v, q in zip(series_ids, times, time_texts, values, qualities, strict=True)
        ]
    ).encode()


async def _one_chunk(data: bytes) -> Any:
    yield data


async def append(
    conn: Any,
    series_ids: Sequence[int],
    times: Sequence[datetime],
    values: Sequence[Decimal],
    qualities: Sequence[int],
    time_texts: Sequence[str | None] | None = None,
) -> list[Written] | None:
    """The fast path of a batch that only adds readings (a meter's new values): when no stored reading
    lies within the batch's time range of any of its series, COPY the rows straight into the table.
    None (nothing written) when a range is not free, or a concurrent batch wrote into it meanwhile
    (unique violation: rolled back to a savepoint); the caller then applies the upsert rule."""
    bounds: dict[int, tuple[datetime, datetime]] = {}
    for sid, t in zip(series_ids, times, strict=True):  # sorted: the first and last instant per series
        held = bounds.get(sid)
        bounds[sid] = (t, t) if held is None else (held[0], t)
    free = await conn.fetchval(
        RANGES_FREE, list(bounds), [b[0] for b in bounds.values()], [b[1] for b in bounds.values()]
    )
    if not free:
        return None
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            await conn.copy_to_table(
                "readings",
                schema_name=SCHEMA,
                columns=["series_id", "ts", "value", "quality"],
                source=_one_chunk(copy_text(series_ids, times, values, qualities, time_texts)),
            )
    except asyncpg.UniqueViolationError:
        return None
    return _appended(series_ids, times, qualities)


async def upsert(
    session: AsyncSession,
    series_ids: Sequence[int],
    times: Sequence[datetime],
    values: Sequence[Decimal],
    qualities: Sequence[int],
    *,
    plan: WritePlan = WritePlan(),
    time_texts: Sequence[str | None] | None = None,
) -> list[Written]:
    """Apply the upsert rule to readings with distinct (series, instant) keys, sorted by them
    (``time_texts``: the times as PostgreSQL may read them, where given)."""
    conn = await driver_connection(session)
    if plan.append_copy:
        appended = await append(conn, series_ids, times, values, qualities, time_texts)
        if appended is not None:
            return appended
    if plan.merge == "copy":
        await conn.execute(CREATE_STAGING)
        await conn.copy_records_to_table(STAGING, records=zip(series_ids, times, values, qualities, strict=True))
        rows = await conn.fetch(UPSERT_STAGED)
        await conn.execute(f"TRUNCATE {STAGING}")  # a second batch in the same transaction starts empty
    else:
        rows = await conn.fetch(UPSERT_UNNEST, list(series_ids), list(times), list(values), list(qualities))
    return [
        Written(
            series_id=r["series_id"],
            first=r["first"],
            last=r["last"],
            count=r["count"],
            qualities={name: r[name] for name in ("corrected", "measured", "estimated", "provisional") if r[name]},
        )
        for r in rows
    ]


async def list_readings(
    session: AsyncSession, series_id: int, start: datetime | None, end: datetime | None, page: Page
) -> Sequence[RowMapping]:
    """Readings of one series (its company checked by the caller), ordered by instant."""
    stmt = select(readings.c.ts, readings.c.value, readings.c.quality).where(readings.c.series_id == series_id)
    if start is not None:
        stmt = stmt.where(readings.c.ts >= start)
    if end is not None:
        stmt = stmt.where(readings.c.ts < end)
    stmt = stmt.order_by(readings.c.ts).limit(page.limit).offset(page.offset)
    return (await session.execute(stmt)).mappings().all()
