"""Time-range partitions of a table partitioned ``BY RANGE (<timestamptz column>)``: one partition per
UTC day or UTC month, created ahead by a worker, on demand before a write that needs a missing one
(a backfill), and dropped past a retention (whole partitions: no row-by-row delete, no bloat).

A partition is ``<parent>_yYYYYmMM`` (months) or ``<parent>_yYYYYmMMdDD`` (days), holding
[start of the period, start of the next period) in UTC. Creating or dropping one takes an ACCESS
EXCLUSIVE lock on the parent until the transaction ends, so it is done rarely and under one advisory
lock per parent that serialises creators (``TimePartitions.lock_key``).

A service declares ``TimePartitions(schema, parent, step)``, calls ``ensure(conn, instants)`` in the
writing transaction before a write, and runs a ``PartitionMaintainer`` in its workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gridcommons.partitions")

Step = Literal["day", "month"]


class TimePartitions:
    """The partitions of ``schema.parent`` by UTC ``step`` (periods are identified by their first day)."""

    def __init__(self, schema: str, parent: str, step: Step) -> None:
        self.schema = schema
        self.parent = parent
        self.step: Step = step
        self.lock_key = (
            int.from_bytes(hashlib.sha256(f"{schema}.{parent}.partitions".encode()).digest()[:8], "big") >> 1
        )
        suffix = r"_y([0-9]{4})m([0-9]{2})" + (r"d([0-9]{2})" if step == "day" else "")
        self._name = re.compile(rf"^{re.escape(parent)}{suffix}$")
        # Periods seen to exist, so that a write whose periods are all known asks the catalog nothing.
        # Only periods past the retention are ever dropped, and no write goes there (the services refuse
        # rows older than their retention), so a stale entry is never written to.
        self._known: set[date] = set()

    # ------------------------------------------------------------------ periods
    def period_of(self, instant: datetime) -> date:
        utc = instant.astimezone(UTC)
        return utc.date() if self.step == "day" else date(utc.year, utc.month, 1)

    def add(self, period: date, count: int) -> date:
        if self.step == "day":
            return period + timedelta(days=count)
        index = period.year * 12 + period.month - 1 + count
        return date(index // 12, index % 12 + 1, 1)

    def name(self, period: date) -> str:
        base = f"{self.parent}_y{period.year:04d}m{period.month:02d}"
        return base + (f"d{period.day:02d}" if self.step == "day" else "")

    def _create_sql(self, period: date) -> str:
        start = datetime(period.year, period.month, period.day, tzinfo=UTC).isoformat()
        try:
            following = self.add(period, 1)
            end = datetime(following.year, following.month, following.day, tzinfo=UTC).isoformat()
        except (ValueError, OverflowError):  # the last period of year 9999
            end = "infinity"
        return (
            f'CREATE TABLE IF NOT EXISTS {self.schema}."{self.name(period)}" PARTITION OF {self.schema}.{self.parent} '
            f"FOR VALUES FROM ('{start}') TO ('{end}')"
        )

    # ------------------------------------------------------------------ database
    async def existing(self, conn: AsyncConnection) -> set[date]:
        rows = await conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = CAST(:parent AS regclass)"
            ),
            {"parent": f"{self.schema}.{self.parent}"},
        )
        periods = set()
        for (name,) in rows:
            m = self._name.match(name)
            if m:
                periods.add(date(int(m.group(1)), int(m.group(2)), int(m.group(3)) if self.step == "day" else 1))
        return periods

    async def ensure(self, conn: AsyncConnection, instants: Iterable[datetime]) -> list[date]:
        """Create the missing partitions of ``instants`` in the caller's transaction (waiting for
        another creator first); returns the periods created."""
        wanted = {self.period_of(t) for t in instants} - self._known
        if not wanted:
            return []
        existing = await self.existing(conn)
        self._known |= existing
        missing = wanted - existing
        if not missing:
            return []
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
        missing -= await self.existing(conn)  # another creator may have made them meanwhile
        for period in sorted(missing):
            await conn.execute(text(self._create_sql(period)))
        if missing:
            log.info("created partitions %s", ", ".join(self.name(p) for p in sorted(missing)))
            # known once the caller's transaction commits; a rollback leaves the next write to check again
            _after_commit(conn, lambda: self._known.update(missing))
        return sorted(missing)

    async def maintain(
        self, engine: AsyncEngine, *, ahead: int, retention: int | None, now: datetime | None = None
    ) -> dict[str, list[str]]:
        """One round: partitions for the current period and ``ahead`` more; with a retention of N
        periods, drop the partitions of periods before (current period - N): a row is kept at least
        N periods and at most one period more. Skipped when another replica holds the lock (returns
        nothing done)."""
        current = self.period_of(now or datetime.now(UTC))
        done: dict[str, list[str]] = {"created": [], "dropped": []}
        async with engine.begin() as conn:
            got = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.lock_key})).scalar()
            if not got:
                return done
            # Waiting long for ACCESS EXCLUSIVE would queue every reader behind us: try again next round.
            await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            wanted = {self.add(current, k) for k in range(ahead + 1)}
            existing = await self.existing(conn)
            for period in sorted(wanted - existing):
                await conn.execute(text(self._create_sql(period)))
                done["created"].append(self.name(period))
            if retention is not None and retention > 0:
                oldest_kept = self.add(current, -retention)
                for period in sorted(p for p in existing if p < oldest_kept):
                    await conn.execute(text(f'DROP TABLE IF EXISTS {self.schema}."{self.name(period)}"'))
                    done["dropped"].append(self.name(period))
                    self._known.discard(period)
        if done["created"] or done["dropped"]:
            log.info(
                "%s.%s partitions: created %s, dropped %s", self.schema, self.parent, done["created"], done["dropped"]
            )
        return done


def _after_commit(conn: AsyncConnection, action: Any) -> None:
    from sqlalchemy import event

    event.listen(conn.sync_connection, "commit", lambda _conn: action(), once=True)


class PartitionMaintainer:
    """The worker that runs ``partitions.maintain`` every ``interval`` seconds (every replica tries;
    the one holding the lock does it)."""

    def __init__(
        self,
        partitions: TimePartitions,
        engine: AsyncEngine,
        *,
        name: str,
        ahead: int,
        retention: int | None,
        interval: float = 3600.0,
    ) -> None:
        self.partitions = partitions
        self.engine = engine
        self.name = name
        self.ahead = ahead
        self.retention = retention
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
                await self.partitions.maintain(self.engine, ahead=self.ahead, retention=self.retention)
                self.last_success = time.monotonic()
                pause = self.interval
            except Exception as exc:  # database away, lock timeout: next round soon
                log.warning("%s failed (%s); retrying in 30s", self.name, exc.__class__.__name__)
                pause = min(30.0, self.interval)
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
