"""Monthly partitions of ``readings`` (UTC months of ``ts``): the kernel's ``gridcommons.partitions`` for this
table, with its retention in whole months (off by default). Months are ``(year, month)`` here, as the
readings' writers use them; the kernel identifies a month by its first day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gridcommons.partitions import PartitionPolicy, TimePartitions

from ..db import SCHEMA

__all__ = [
    "LOCK_KEY",
    "PARENT",
    "READINGS",
    "Month",
    "add_months",
    "ensure_months",
    "existing_months",
    "maintain",
    "month_of",
    "month_start",
    "months_of",
    "next_month",
    "partition_name",
    "policy",
]

Month = tuple[int, int]  # (year, month)

PARENT = "readings"
# The writers accept readings of any time (a backfill far back) while the worker may drop old months in
# another process: every write asks the catalog which months exist (``remember=False``).
READINGS = TimePartitions(SCHEMA, PARENT, "month", remember=False)
LOCK_KEY = READINGS.lock_key


def _first_day(month: Month) -> date:
    return date(month[0], month[1], 1)


def _month(period: date) -> Month:
    return (period.year, period.month)


def next_month(month: Month) -> Month:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def add_months(month: Month, count: int) -> Month:
    # plain arithmetic (not the kernel's dates): a bound past year 9999 stays a value the callers compare
    index = month[0] * 12 + month[1] - 1 + count
    return (index // 12, index % 12 + 1)


def month_of(instant: datetime) -> Month:
    return _month(READINGS.period_of(instant))


def month_start(month: Month) -> datetime:
    return READINGS.start(_first_day(month))


def months_of(instants: Iterable[datetime]) -> set[Month]:
    """The UTC months of instants already in UTC (as the parsers give them)."""
    return {(t.year, t.month) for t in instants}


def partition_name(month: Month) -> str:
    return READINGS.name(_first_day(month))


async def existing_months(conn: AsyncConnection) -> set[Month]:
    return {_month(p) for p in await READINGS.existing(conn)}


async def ensure_months(conn: AsyncConnection, months: set[Month]) -> list[Month]:
    """Create the missing partitions of ``months`` in the caller's transaction; returns those created."""
    return [_month(p) for p in await READINGS.ensure_periods(conn, {_first_day(m) for m in months})]


def policy(*, ahead: int, retention_months: int | None) -> PartitionPolicy:
    """How the worker keeps ``readings``: ``ahead`` months ready, partitions ending before the first day of
    (current month - ``retention_months``) dropped (None: keep all)."""
    return PartitionPolicy(READINGS, ahead, retention_months)


async def maintain(
    engine: AsyncEngine, *, ahead: int, retention_months: int | None, now: datetime | None = None
) -> dict[str, list[str]]:
    """One round for ``readings`` alone (see ``policy``)."""
    return await READINGS.maintain(engine, ahead=ahead, retention=retention_months, now=now or datetime.now(UTC))
