"""Monthly partitions of ``unit_data`` (UTC months of the report's ``time``, the kernel's
``gridcommons.partitions``) and its retention in days: the history is kept at least ``retention_days``
(a whole month goes once all of its days are older), the newest report of each unit (``unit_data_latest``)
is never pruned."""

from __future__ import annotations

from datetime import datetime, timedelta

from gridcommons.partitions import PartitionPolicy, TimePartitions

from ..db import SCHEMA

# Writers refuse reports before the horizon, but the horizon of a process whose clock runs behind the
# worker's could still reach a month just dropped: every write asks the catalog (``remember=False``).
UNIT_DATA = TimePartitions(SCHEMA, "unit_data", "month", remember=False)


def retention(retention_days: int) -> timedelta | None:
    """The kernel's retention for ``METERING_UNIT_DATA_RETENTION_DAYS`` (0: keep everything, None)."""
    return timedelta(days=retention_days) if retention_days > 0 else None


def oldest_kept(retention_days: int, now: datetime) -> tuple[int, int] | None:
    """The first month kept, ``(year, month)``: the one holding ``now - retention_days`` (0: None)."""
    first = UNIT_DATA.oldest_kept(now, retention(retention_days))
    return None if first is None else (first.year, first.month)


def horizon(retention_days: int, now: datetime) -> datetime | None:
    """Reports before this instant are past the retention: their month is dropped (or about to be), so they
    are not stored (None: retention off)."""
    return UNIT_DATA.horizon(now, retention(retention_days))


def policy(*, ahead: int, retention_days: int) -> PartitionPolicy:
    return PartitionPolicy(UNIT_DATA, ahead, retention(retention_days))
