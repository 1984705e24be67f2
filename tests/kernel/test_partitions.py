"""gridcommons.partitions: periods, names and steps of daily and monthly partitions (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from gridcommons.partitions import TimePartitions


def test_days_and_months() -> None:
    days = TimePartitions("s", "logs", "day")
    months = TimePartitions("s", "readings", "month")
    instant = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # 2027-01-01 01:30 UTC
    assert days.period_of(instant) == date(2027, 1, 1)
    assert months.period_of(instant) == date(2027, 1, 1)
    assert days.period_of(datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)) == date(2026, 3, 15)
    assert months.period_of(datetime(2026, 3, 15, tzinfo=UTC)) == date(2026, 3, 1)
    assert days.add(date(2026, 2, 28), 1) == date(2026, 3, 1)
    assert days.add(date(2026, 1, 1), -365) == date(2025, 1, 1)
    assert months.add(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert months.add(date(2026, 1, 1), -13) == date(2024, 12, 1)
    assert days.name(date(2026, 3, 9)) == "logs_y2026m03d09"
    assert months.name(date(2026, 3, 1)) == "readings_y2026m03"
    assert days.lock_key != months.lock_key and 0 < days.lock_key < 2**63
    assert "TO ('infinity')" in days._create_sql(date(9999, 12, 31))
    assert "FROM ('2026-03-29T00:00:00+00:00') TO ('2026-03-30T00:00:00+00:00')" in days._create_sql(date(2026, 3, 29))
