"""Monthly partitions of ``readings`` (UTC months of ``ts``): the service's partition mechanism
(``metering_service.partitions``) for this table, with its retention in whole months (off by default)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..partitions import (
    Month,
    MonthlyPartitions,
    PartitionPolicy,
    add_months,
    keep_months,
    month_of,
    month_start,
    months_of,
    next_month,
)

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

PARENT = "readings"
READINGS = MonthlyPartitions(PARENT)
LOCK_KEY = READINGS.lock_key


def partition_name(month: Month) -> str:
    return READINGS.partition_name(month)


async def existing_months(conn: AsyncConnection) -> set[Month]:
    return await READINGS.existing_months(conn)


async def ensure_months(conn: AsyncConnection, months: set[Month]) -> list[Month]:
    """Create the missing partitions of ``months`` in the caller's transaction; returns those created."""
    return await READINGS.ensure_months(conn, months)


def policy(*, ahead: int, retention_months: int | None) -> PartitionPolicy:
    """How the worker keeps ``readings``: ``ahead`` months ready, partitions ending before the first day of
    (current month - ``retention_months``) dropped (None: keep all)."""
    return PartitionPolicy(READINGS, ahead, keep_months(retention_months))


async def maintain(
    engine: AsyncEngine, *, ahead: int, retention_months: int | None, now: datetime | None = None
) -> dict[str, list[str]]:
    """One round for ``readings`` alone (see ``policy``)."""
    now = now or datetime.now(UTC)
    return await READINGS.maintain(engine, ahead=ahead, oldest_kept=keep_months(retention_months)(now), now=now)
