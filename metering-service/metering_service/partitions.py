"""Monthly (UTC) range partitions of the service's time-series tables (``readings`` by ``ts``, ``unit_data`` by
``time``): created ahead by the worker, on demand by a write, and dropped past a table's retention.

A partition is ``<table>_yYYYYmMM`` holding [first instant of the month, first instant of the next month) UTC.
Creating one takes an ACCESS EXCLUSIVE lock on the parent until the creating transaction ends, so it is done
rarely: the worker keeps the current month and the next ``ahead`` ones in place, and a write creates only the
months it needs that are missing (a backfill of old data), before it writes anything, under one advisory
lock per table (``lock_key``) that serializes creators. Retention drops whole partitions (no row-by-row
delete): a partition goes once all of its month is older than the table's oldest kept month.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import SCHEMA

log = logging.getLogger("metering_service.partitions")

Month = tuple[int, int]  # (year, month)
LAST_MONTH: Month = (9999, 12)


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
    """The UTC months of instants already in UTC (as the parsers give them)."""
    return {(t.year, t.month) for t in instants}


class MonthlyPartitions:
    """The monthly partitions of one table of the service's schema, ranged on its partition column."""

    def __init__(self, parent: str, *, schema: str = SCHEMA) -> None:
        self.parent = parent
        self.schema = schema
        self.lock_key = (
            int.from_bytes(hashlib.sha256(f"{schema}.{parent}.partitions".encode()).digest()[:8], "big") >> 1
        )
        self._name = re.compile(rf"^{re.escape(parent)}_y([0-9]{{4}})m([0-9]{{2}})$")

    def partition_name(self, month: Month) -> str:
        return f"{self.parent}_y{month[0]:04d}m{month[1]:02d}"

    async def existing_months(self, conn: AsyncConnection) -> set[Month]:
        rows = await conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = CAST(:parent AS regclass)"
            ),
            {"parent": f"{self.schema}.{self.parent}"},
        )
        months = set()
        for (name,) in rows:
            m = self._name.match(name)
            if m:
                months.add((int(m.group(1)), int(m.group(2))))
        return months

    def create_sql(self, month: Month) -> str:
        start = month_start(month).isoformat()
        end = month_start(next_month(month)).isoformat() if month != LAST_MONTH else "infinity"
        return (
            f'CREATE TABLE IF NOT EXISTS {self.schema}."{self.partition_name(month)}" PARTITION OF '
            f"{self.schema}.{self.parent} FOR VALUES FROM ('{start}') TO ('{end}')"
        )

    def drop_sql(self, month: Month) -> str:
        return f'DROP TABLE IF EXISTS {self.schema}."{self.partition_name(month)}"'

    async def ensure_months(self, conn: AsyncConnection, months: set[Month]) -> list[Month]:
        """Create the missing partitions of ``months`` in the caller's transaction (waiting for another
        creator first); returns those created."""
        missing = months - await self.existing_months(conn)
        if not missing:
            return []
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
        missing -= await self.existing_months(conn)  # another creator may have made them meanwhile
        for month in sorted(missing):
            await conn.execute(text(self.create_sql(month)))
        if missing:
            log.info(
                "created %s partitions %s", self.parent, ", ".join(self.partition_name(m) for m in sorted(missing))
            )
        return sorted(missing)

    async def maintain(
        self, engine: AsyncEngine, *, ahead: int, oldest_kept: Month | None, now: datetime | None = None
    ) -> dict[str, list[str]]:
        """One round in one transaction: partitions for the current month and ``ahead`` more; with
        ``oldest_kept``, drop the partitions of the months before it. Skipped when another replica holds
        the table's lock (returns nothing done)."""
        current = month_of(now or datetime.now(UTC))
        done: dict[str, list[str]] = {"created": [], "dropped": []}
        async with engine.begin() as conn:
            got = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.lock_key})).scalar()
            if not got:
                return done
            # Waiting long for ACCESS EXCLUSIVE would queue every reader behind us: try again next round.
            await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            wanted = {add_months(current, k) for k in range(ahead + 1)}
            existing = await self.existing_months(conn)
            for month in sorted(wanted - existing):
                await conn.execute(text(self.create_sql(month)))
                done["created"].append(self.partition_name(month))
            if oldest_kept is not None:
                for month in sorted(m for m in existing if m < oldest_kept):
                    await conn.execute(text(self.drop_sql(month)))
                    done["dropped"].append(self.partition_name(month))
        if done["created"] or done["dropped"]:
            log.info("%s partitions: created %s, dropped %s", self.parent, done["created"], done["dropped"])
        return done


@dataclass(frozen=True)
class PartitionPolicy:
    """How the worker keeps one table: months ahead, and its oldest kept month at an instant (None: keep all)."""

    table: MonthlyPartitions
    ahead: int
    oldest_kept: Callable[[datetime], Month | None]


def keep_months(retention_months: int | None) -> Callable[[datetime], Month | None]:
    """Retention in whole months: the partitions before (current month - N) go; None or 0: keep all."""

    def oldest(now: datetime) -> Month | None:
        return add_months(month_of(now), -retention_months) if retention_months else None

    return oldest


class PartitionMaintainer:
    """The worker that maintains every table's partitions every ``interval`` seconds (every replica tries;
    the one holding a table's lock does it)."""

    name = "metering-service.partitions"

    def __init__(self, engine: AsyncEngine, policies: Sequence[PartitionPolicy], *, interval: float = 3600.0) -> None:
        self.engine = engine
        self.policies = tuple(policies)
        self.interval = interval
        self.last_success: float | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_success is None else round(time.monotonic() - self.last_success, 1)
        # Not ready until a first round reached the database; stale after three missed rounds.
        ready = ago is not None and ago < max(3 * self.interval, 60.0)
        return {"ready": ready, "last_success_seconds_ago": ago}

    async def round(self, now: datetime | None = None) -> dict[str, dict[str, list[str]]]:
        """Every table once, each in its own transaction; {table: {"created": [...], "dropped": [...]}}."""
        now = now or datetime.now(UTC)
        done = {}
        for p in self.policies:
            done[p.table.parent] = await p.table.maintain(
                self.engine, ahead=p.ahead, oldest_kept=p.oldest_kept(now), now=now
            )
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.round()
                self.last_success = time.monotonic()
                pause = self.interval
            except Exception as exc:  # database away, lock timeout: next round soon
                log.warning("partition maintenance failed (%s); retrying in 30s", exc.__class__.__name__)
                pause = min(30.0, self.interval)
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
