"""Monthly partitions of ``readings`` (UTC months): created ahead by the worker, on demand by an
ingestion, and dropped past the retention (off by default).

A partition is ``readings_yYYYYmMM`` holding ``ts`` in [first instant of the month, first instant of
the next month) UTC. Creating one takes an ACCESS EXCLUSIVE lock on ``readings`` until the creating
transaction ends, so it is done rarely: the worker keeps the current month and the next
``partitions_ahead`` ones in place, and an ingestion creates only the months it needs that are
missing (a backfill of old data), before it writes anything, under one advisory lock
(``LOCK_KEY``) that serializes creators.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import SCHEMA

log = logging.getLogger("metering_service.partitions")

PARENT = "readings"
LOCK_KEY = int.from_bytes(hashlib.sha256(f"{SCHEMA}.{PARENT}.partitions".encode()).digest()[:8], "big") >> 1
_NAME = re.compile(rf"^{PARENT}_y([0-9]{{4}})m([0-9]{{2}})$")

Month = tuple[int, int]  # (year, month)


def partition_name(month: Month) -> str:
    return f"{PARENT}_y{month[0]:04d}m{month[1]:02d}"


def next_month(month: Month) -> Month:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def add_months(month: Month, count: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + count
    return (index // 12, index % 12 + 1)


def month_of(instant: datetime) -> Month:
    utc = instant.astimezone(UTC)
    return (utc.year, utc.month)


def month_start(month: Month) -> datetime:
    return datetime(month[0], month[1], 1, tzinfo=UTC)


def months_of(instants: Iterable[datetime]) -> set[Month]:
    """The UTC months of instants already in UTC (as the parser gives them)."""
    return {(t.year, t.month) for t in instants}


async def existing_months(conn: AsyncConnection) -> set[Month]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": f"{SCHEMA}.{PARENT}"},
    )
    months = set()
    for (name,) in rows:
        m = _NAME.match(name)
        if m:
            months.add((int(m.group(1)), int(m.group(2))))
    return months


def _create_sql(month: Month) -> str:
    start = month_start(month).isoformat()
    end = month_start(next_month(month)).isoformat() if month != (9999, 12) else "infinity"
    return (
        f'CREATE TABLE IF NOT EXISTS {SCHEMA}."{partition_name(month)}" PARTITION OF {SCHEMA}.{PARENT} '
        f"FOR VALUES FROM ('{start}') TO ('{end}')"
    )


async def ensure_months(conn: AsyncConnection, months: set[Month]) -> list[Month]:
    """Create the missing partitions of ``months`` in the caller's transaction (waiting for another
    creator first); returns those created."""
    missing = months - await existing_months(conn)
    if not missing:
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    missing -= await existing_months(conn)  # another creator may have made them meanwhile
    for month in sorted(missing):
        await conn.execute(text(_create_sql(month)))
    if missing:
        log.info("created readings partitions %s", ", ".join(partition_name(m) for m in sorted(missing)))
    return sorted(missing)


async def maintain(
    engine: AsyncEngine, *, ahead: int, retention_months: int | None, now: datetime | None = None
) -> dict[str, list[str]]:
    """One round: partitions for the current month and ``ahead`` more; with a retention, drop the
    partitions that end before the first day of (current month - retention). Skipped when another
    replica holds the lock (returns nothing done)."""
    current = month_of(now or datetime.now(UTC))
    done: dict[str, list[str]] = {"created": [], "dropped": []}
    async with engine.begin() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})).scalar()
        if not got:
            return done
        # Waiting long for ACCESS EXCLUSIVE would queue every reader behind us: try again next round.
        await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
        wanted = {add_months(current, k) for k in range(ahead + 1)}
        existing = await existing_months(conn)
        for month in sorted(wanted - existing):
            await conn.execute(text(_create_sql(month)))
            done["created"].append(partition_name(month))
        if retention_months is not None and retention_months > 0:
            oldest_kept = add_months(current, -retention_months)
            for month in sorted(m for m in existing if m < oldest_kept):
                await conn.execute(text(f'DROP TABLE IF EXISTS {SCHEMA}."{partition_name(month)}"'))
                done["dropped"].append(partition_name(month))
    if done["created"] or done["dropped"]:
        log.info("readings partitions: created %s, dropped %s", done["created"], done["dropped"])
    return done


class PartitionMaintainer:
    """The worker that runs ``maintain`` every ``interval`` seconds (every replica tries; one does it)."""

    name = "metering-service.partitions"

    def __init__(
        self, engine: AsyncEngine, *, ahead: int, retention_months: int | None, interval: float = 3600.0
    ) -> None:
        self.engine = engine
        self.ahead = ahead
        self.retention_months = retention_months
        self.interval = interval
        self.last_success: float | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_success is None else round(time.monotonic() - self.last_success, 1)
        # Not ready until a first round reached the database; stale after three missed rounds.
        ready = ago is not None and ago < max(3 * self.interval, 60.0)
        return {"ready": ready, "last_success_seconds_ago": ago}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await maintain(self.engine, ahead=self.ahead, retention_months=self.retention_months)
                self.last_success = time.monotonic()
                pause = self.interval
            except Exception as exc:  # database away, lock timeout: next round soon
                log.warning("readings partition maintenance failed (%s); retrying in 30s", exc.__class__.__name__)
                pause = min(30.0, self.interval)
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
