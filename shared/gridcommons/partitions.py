"""Time-range partitions of a table partitioned ``BY RANGE (<timestamptz column>)``: one partition per
UTC day or UTC month, created ahead by a worker, on demand before a write that needs a missing one
(a backfill), and dropped past a retention (whole partitions: no row-by-row delete, no bloat).

A partition is ``<parent>_yYYYYmMM`` (months) or ``<parent>_yYYYYmMMdDD`` (days), holding
[start of the period, start of the next period) in UTC. Creating or dropping one takes an ACCESS
EXCLUSIVE lock on the parent until the transaction ends, so it is done rarely and under one advisory
lock per parent that serialises creators (``TimePartitions.lock_key``).

A service declares ``TimePartitions(schema, parent, step)``, calls ``ensure(conn, instants)`` in the
writing transaction before a write, and runs a ``PartitionMaintainer`` in its workers with one
``PartitionPolicy`` per table: how many periods are made ahead, and the retention, either a number of
whole periods (N: the partitions before the current period - N go) or a ``timedelta`` (a partition goes
once its whole period ends at or before now - retention, so every row is kept at least that long).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gridcommons.partitions")

Step = Literal["day", "month"]
# How long rows are kept: a number of whole periods, a duration, or None (keep everything; 0 too).
Retention = int | timedelta | None


class TimePartitions:
    """The partitions of ``schema.parent`` by UTC ``step`` (periods are identified by their first day)."""

    def __init__(self, schema: str, parent: str, step: Step, *, remember: bool = True) -> None:
        self.schema = schema
        self.parent = parent
        self.step: Step = step
        self.lock_key = (
            int.from_bytes(hashlib.sha256(f"{schema}.{parent}.partitions".encode()).digest()[:8], "big") >> 1
        )
        suffix = r"_y([0-9]{4})m([0-9]{2})" + (r"d([0-9]{2})" if step == "day" else "")
        self._name = re.compile(rf"^{re.escape(parent)}{suffix}$")
        # Periods seen to exist, so that a write whose periods are all known asks the catalog nothing.
        # Only periods past the retention are ever dropped, and no write goes there when the service
        # refuses rows older than its retention, so a stale entry is never written to. A table whose
        # writers accept any time (``remember=False``) asks the catalog on every write instead: another
        # process may have dropped a partition this one saw.
        self.remember = remember
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

    def start(self, period: date) -> datetime:
        """The first instant of ``period`` (UTC)."""
        return datetime(period.year, period.month, period.day, tzinfo=UTC)

    def oldest_kept(self, now: datetime, retention: Retention) -> date | None:
        """The first period kept at ``now`` (None: retention off). N periods: the current period - N (a row
        is kept at least N periods, at most one more); a duration: the period holding ``now - retention``,
        so a period goes exactly when it ends at or before ``now - retention``."""
        if retention is None:
            return None
        if isinstance(retention, timedelta):
            return self.period_of(now - retention) if retention > timedelta(0) else None
        return self.add(self.period_of(now), -retention) if retention > 0 else None

    def horizon(self, now: datetime, retention: Retention) -> datetime | None:
        """Rows before this instant are past the retention at ``now``: their partition is dropped (or about
        to be). A service refuses them on arrival, so that no write recreates a dropped partition."""
        oldest = self.oldest_kept(now, retention)
        return None if oldest is None else self.start(oldest)

    def name(self, period: date) -> str:
        base = f"{self.parent}_y{period.year:04d}m{period.month:02d}"
        return base + (f"d{period.day:02d}" if self.step == "day" else "")

    def create_sql(self, period: date) -> str:
        start = self.start(period).isoformat()
        try:
            end = self.start(self.add(period, 1)).isoformat()
        except (ValueError, OverflowError):  # the last period of year 9999
            end = "infinity"
        return (
            f'CREATE TABLE IF NOT EXISTS {self.schema}."{self.name(period)}" PARTITION OF {self.schema}.{self.parent} '
            f"FOR VALUES FROM ('{start}') TO ('{end}')"
        )

    def drop_sql(self, period: date) -> str:
        return f'DROP TABLE IF EXISTS {self.schema}."{self.name(period)}"'

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
        return await self.ensure_periods(conn, {self.period_of(t) for t in instants})

    async def ensure_periods(self, conn: AsyncConnection, periods: Iterable[date]) -> list[date]:
        """``ensure`` for periods (first days, as ``period_of`` gives them)."""
        wanted = set(periods) - self._known
        if not wanted:
            return []
        existing = await self.existing(conn)
        if self.remember:
            self._known |= existing
        missing = wanted - existing
        if not missing:
            return []
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
        missing -= await self.existing(conn)  # another creator may have made them meanwhile
        for period in sorted(missing):
            await conn.execute(text(self.create_sql(period)))
        if missing:
            log.info("created partitions %s", ", ".join(self.name(p) for p in sorted(missing)))
            if self.remember:
                # known once the caller's transaction commits; a rollback leaves the next write to check again
                _after_commit(conn, lambda: self._known.update(missing))
        return sorted(missing)

    async def maintain(
        self, engine: AsyncEngine, *, ahead: int, retention: Retention, now: datetime | None = None
    ) -> dict[str, list[str]]:
        """One round in one transaction: partitions for the current period and ``ahead`` more; the
        partitions of periods before ``oldest_kept(now, retention)`` dropped. Skipped when another
        replica holds the lock (returns nothing done)."""
        now = now or datetime.now(UTC)
        current = self.period_of(now)
        oldest_kept = self.oldest_kept(now, retention)
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
                await conn.execute(text(self.create_sql(period)))
                done["created"].append(self.name(period))
            if oldest_kept is not None:
                for period in sorted(p for p in existing if p < oldest_kept):
                    await conn.execute(text(self.drop_sql(period)))
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


@dataclass(frozen=True)
class PartitionPolicy:
    """How a maintainer keeps one table: ``ahead`` periods ready after the current one, and its retention."""

    partitions: TimePartitions
    ahead: int
    retention: Retention = None


class PartitionMaintainer:
    """The worker that keeps the partitions of its tables every ``interval`` seconds (every replica tries;
    the one holding a table's lock does it). Each table in its own transaction: a lock timeout on one does
    not hold the others back."""

    def __init__(
        self, engine: AsyncEngine, policies: Sequence[PartitionPolicy], *, name: str, interval: float = 3600.0
    ) -> None:
        self.engine = engine
        self.policies = tuple(policies)
        self.name = name
        self.interval = interval
        self.last_success: float | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_success is None else round(time.monotonic() - self.last_success, 1)
        # Not ready until a first round reached the database; stale after three missed rounds.
        ready = ago is not None and ago < max(3 * self.interval, 60.0)
        return {"ready": ready, "last_success_seconds_ago": ago}

    async def round(self, now: datetime | None = None) -> dict[str, dict[str, list[str]]]:
        """Every table once: {parent: {"created": [...], "dropped": [...]}}. A table that fails is logged
        and the others are still kept; the round then raises the first failure."""
        now = now or datetime.now(UTC)
        done: dict[str, dict[str, list[str]]] = {}
        failures: list[Exception] = []
        for policy in self.policies:
            table = policy.partitions
            try:
                done[table.parent] = await table.maintain(
                    self.engine, ahead=policy.ahead, retention=policy.retention, now=now
                )
            except Exception as exc:  # database away, lock timeout
                log.warning("%s: %s.%s failed (%s)", self.name, table.schema, table.parent, exc.__class__.__name__)
                failures.append(exc)
        if failures:
            raise failures[0]
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.round()
                self.last_success = time.monotonic()
                pause = self.interval
            except Exception as exc:  # database away, lock timeout: next round soon
                log.warning("%s failed (%s); retrying in 30s", self.name, exc.__class__.__name__)
                pause = min(30.0, self.interval)
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
