"""Monthly partitions of ``unit_data`` (UTC months of the report's ``time``) and its retention in days: the
history is kept at least ``retention_days`` (whole months go once all of their days are older), the newest
report of each unit (``unit_data_latest``) is never pruned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..partitions import Month, MonthlyPartitions, PartitionPolicy, month_of, month_start

UNIT_DATA = MonthlyPartitions("unit_data")


def oldest_kept(retention_days: int, now: datetime) -> Month | None:
    """The first month kept: the one holding ``now - retention_days`` (0: keep everything, None)."""
    return month_of(now - timedelta(days=retention_days)) if retention_days > 0 else None


def horizon(retention_days: int, now: datetime) -> datetime | None:
    """Reports before this instant are past the retention: their month is dropped (or about to be), so they
    are not stored (None: retention off)."""
    month = oldest_kept(retention_days, now)
    return None if month is None else month_start(month)


def policy(*, ahead: int, retention_days: int) -> PartitionPolicy:
    keep: Callable[[datetime], Month | None] = lambda now: oldest_kept(retention_days, now)  # noqa: E731
    return PartitionPolicy(UNIT_DATA, ahead, keep)
