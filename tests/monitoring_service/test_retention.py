"""Logs live in daily partitions (UTC days): created ahead by the maintainer and on demand by a write
that needs one; past the retention whole partitions are dropped (no row-by-row delete)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import utcnow
from monitoring_service.logs.models import partitions


async def _query(stack: Stack, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _existing(app: FastAPI) -> set[date]:
    async with app.state.engine.connect() as conn:
        return await partitions.existing(conn)


async def test_partitions_ahead_and_retention(monitoring_app: FastAPI, stack: Stack, company_id: int) -> None:
    today = utcnow().date()
    # the maintainer (in process) made today's partition and the next days'
    assert {today + timedelta(days=k) for k in range(8)} <= await _existing(monitoring_app)
    # old days (a backfill): created on demand, in the writer's transaction
    old = [
        datetime(2001, 1, 1, 12, tzinfo=UTC),
        datetime(2001, 1, 2, 23, 59, tzinfo=UTC),
        datetime(2001, 6, 1, tzinfo=UTC),
    ]
    async with monitoring_app.state.engine.begin() as conn:
        assert await partitions.ensure(conn, old) == [date(2001, 1, 1), date(2001, 1, 2), date(2001, 6, 1)]
        assert await partitions.ensure(conn, old) == []
    # committed: known to the process, the next write of those days asks the catalog nothing
    assert {date(2001, 1, 1), date(2001, 6, 1)} <= partitions._known
    for at in old:
        await _query(
            stack,
            "INSERT INTO monitoring.logs (company_id, community_code, cluster_code, program_id, datetime, loglevel) "
            "VALUES ($1, 'c', 'k', 'apis-log', $2, 'INFO')",
            company_id,
            at,
        )
    rows = await _query(
        stack,
        "SELECT tableoid::regclass::text AS part FROM monitoring.logs WHERE company_id = $1 ORDER BY datetime",
        company_id,
    )
    assert [r["part"] for r in rows] == [
        "monitoring.logs_y2001m01d01",
        "monitoring.logs_y2001m01d02",
        "monitoring.logs_y2001m06d01",
    ]
    # a round as of 2002-01-02 with a 365-day retention keeps 2001-01-02 onwards, drops 2001-01-01
    done = await partitions.maintain(
        monitoring_app.state.engine, ahead=0, retention=365, now=datetime(2002, 1, 2, 8, tzinfo=UTC)
    )
    assert done["dropped"] == ["logs_y2001m01d01"]
    assert date(2001, 1, 1) not in partitions._known
    left = await _query(
        stack, "SELECT datetime FROM monitoring.logs WHERE company_id = $1 ORDER BY datetime", company_id
    )
    assert [r["datetime"] for r in left] == old[1:]
    await partitions.maintain(monitoring_app.state.engine, ahead=0, retention=365, now=datetime(2002, 6, 2, tzinfo=UTC))
    assert not {d for d in await _existing(monitoring_app) if d.year < 2002}
    # the current days are untouched
    assert today in await _existing(monitoring_app)


async def test_local_dst_days_fall_in_their_utc_days() -> None:
    paris = ZoneInfo("Europe/Paris")
    for local, day in [
        (datetime(2026, 3, 29, 0, 59, tzinfo=paris), date(2026, 3, 28)),  # 23:59 UTC the day before
        (datetime(2026, 3, 29, 3, 0, tzinfo=paris), date(2026, 3, 29)),  # CEST starts: 01:00 UTC
        (datetime(2026, 10, 25, 1, 30, tzinfo=paris), date(2026, 10, 24)),  # 23:30 UTC (CEST)
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris), date(2026, 10, 25)),  # the repeated hour, CET
        (datetime(2026, 10, 25, 23, 59, tzinfo=paris), date(2026, 10, 25)),  # 22:59 UTC
    ]:
        assert partitions.period_of(local) == day, local
    assert partitions.name(date(2026, 3, 29)) == "logs_y2026m03d29"
