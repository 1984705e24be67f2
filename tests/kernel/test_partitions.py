"""gridcommons.partitions: periods, names and steps of daily and monthly partitions (UTC), retention as a
number of periods or a duration (against a reference), and the maintainer keeping several tables."""

from __future__ import annotations

import asyncio
import calendar
from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from gridcommons.partitions import PartitionMaintainer, PartitionPolicy, TimePartitions
from gridcommons.testing.migrations import scratch_database
from gridcommons.testing.plugin import Stack


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
    assert "TO ('infinity')" in days.create_sql(date(9999, 12, 31))
    assert "FROM ('2026-03-29T00:00:00+00:00') TO ('2026-03-30T00:00:00+00:00')" in days.create_sql(date(2026, 3, 29))
    assert months.start(date(2026, 10, 1)) == datetime(2026, 10, 1, tzinfo=UTC)
    assert months.drop_sql(date(2026, 3, 1)) == 'DROP TABLE IF EXISTS s."readings_y2026m03"'


def test_retention_in_periods_or_as_a_duration() -> None:
    days = TimePartitions("s", "logs", "day")
    months = TimePartitions("s", "readings", "month")
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    for off in (None, 0, timedelta(0)):
        assert days.oldest_kept(now, off) is None and months.horizon(now, off) is None
    assert days.oldest_kept(now, 365) == date(2025, 12, 1) == days.oldest_kept(now, timedelta(days=365))
    assert months.oldest_kept(now, 3) == date(2026, 9, 1)
    # 400 days back is 2025-10-27: October 2025 is kept, whole September goes
    assert months.oldest_kept(now, timedelta(days=400)) == date(2025, 10, 1)
    assert months.horizon(now, timedelta(days=400)) == datetime(2025, 10, 1, tzinfo=UTC)
    # both DST days of 2026 in Paris: UTC periods, the local clock plays no part
    paris_spring = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))  # 01:30 UTC
    assert months.oldest_kept(paris_spring, timedelta(days=28)) == date(2026, 3, 1)
    assert days.oldest_kept(paris_spring, timedelta(hours=2)) == date(2026, 3, 28)
    paris_autumn = datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=2)))  # 00:30 UTC
    assert months.oldest_kept(paris_autumn, timedelta(days=25)) == date(2026, 9, 1)
    assert days.horizon(paris_autumn, 1) == datetime(2026, 10, 24, tzinfo=UTC)


def reference_period(step: str, instant: datetime) -> tuple[date, date]:
    """[first day, first day of the next period) of the UTC period holding ``instant``, computed directly."""
    utc = instant.astimezone(UTC)
    if step == "day":
        return utc.date(), utc.date() + timedelta(days=1)
    last = calendar.monthrange(utc.year, utc.month)[1]
    return date(utc.year, utc.month, 1), date(utc.year, utc.month, last) + timedelta(days=1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@settings(max_examples=400, deadline=None)
@given(
    step=st.sampled_from(["day", "month"]),
    now=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    retention=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650)),
    back=st.timedeltas(min_value=timedelta(days=-40), max_value=timedelta(days=4000)),
)
def test_a_period_goes_iff_it_ends_before_the_horizon(
    step: str, now: datetime, retention: timedelta, back: timedelta
) -> None:
    """Against a reference: with a duration, a partition is dropped exactly when its whole period ends at or
    before ``now - retention`` (every row in it is older than the retention); a row is refused on arrival
    (before the horizon) exactly when its period is one that goes, and the horizon never cuts a kept row."""
    table = TimePartitions("s", "t", step)  # type: ignore[arg-type]
    instant = now - back
    first, end = reference_period(step, instant)
    period = table.period_of(instant)
    assert period == first and table.start(table.add(period, 1)) == midnight(end)
    oldest = table.oldest_kept(now, retention)
    assert oldest is not None
    dropped = period < oldest
    assert dropped == (midnight(end) <= now - retention)
    horizon = table.horizon(now, retention)
    assert horizon is not None and horizon <= now - retention
    assert (instant < horizon) == dropped


@settings(max_examples=300, deadline=None)
@given(
    step=st.sampled_from(["day", "month"]),
    now=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    retention=st.integers(1, 500),
    offset=st.integers(-600, 3),
)
def test_a_retention_of_n_periods(step: str, now: datetime, retention: int, offset: int) -> None:
    """Against a reference: with N periods, the partitions before (current period - N) go."""
    table = TimePartitions("s", "t", step)  # type: ignore[arg-type]
    current = table.period_of(now)
    period = table.add(current, offset)
    if step == "day":
        index = (period - current).days
    else:
        index = (period.year - current.year) * 12 + period.month - current.month
    assert index == offset
    oldest = table.oldest_kept(now, retention)
    assert oldest is not None and (period < oldest) == (offset < -retention)


SCHEMA = "kernel_partitions"


@pytest.fixture
async def scratch_url(stack: Stack):  # type: ignore[no-untyped-def]
    async with scratch_database(stack.database_url) as url:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await conn.execute(f"CREATE SCHEMA {SCHEMA}")
            await conn.execute(f"CREATE TABLE {SCHEMA}.logs (at timestamptz NOT NULL) PARTITION BY RANGE (at)")
            await conn.execute(f"CREATE TABLE {SCHEMA}.readings (ts timestamptz NOT NULL) PARTITION BY RANGE (ts)")
        finally:
            await conn.close()
        yield url


async def test_one_maintainer_keeps_several_tables(scratch_url: str) -> None:
    logs = TimePartitions(SCHEMA, "logs", "day")
    readings = TimePartitions(SCHEMA, "readings", "month", remember=False)
    engine = create_async_engine(scratch_url)
    try:
        async with engine.begin() as conn:
            assert await readings.ensure(conn, [datetime(1950, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1)))])
            assert await readings.ensure_periods(conn, [date(1950, 3, 1), date(1950, 4, 1)]) == [
                date(1950, 3, 1),
                date(1950, 4, 1),
            ]
            await logs.ensure(conn, [datetime(1950, 4, 1, tzinfo=UTC), datetime(1950, 4, 13, 12, tzinfo=UTC)])
        maintainer = PartitionMaintainer(
            engine,
            [PartitionPolicy(logs, ahead=1, retention=3), PartitionPolicy(readings, 1, timedelta(days=45))],
            name="kernel.partitions",
        )
        assert maintainer.health()["ready"] is False
        # 45 days before 1950-04-15 is 1950-03-01: January and February would go, March stays
        done = await maintainer.round(now=datetime(1950, 4, 15, 6, tzinfo=UTC))
        assert done == {
            "logs": {
                "created": ["logs_y1950m04d15", "logs_y1950m04d16"],
                "dropped": ["logs_y1950m04d01"],  # 3 days back from the 15th: the 12th is the oldest kept
            },
            "readings": {"created": ["readings_y1950m05"], "dropped": ["readings_y1950m02"]},
        }
        assert await maintainer.round(now=datetime(1950, 4, 15, 6, tzinfo=UTC)) == {
            "logs": {"created": [], "dropped": []},
            "readings": {"created": [], "dropped": []},
        }
        async with engine.begin() as conn:
            assert await readings.existing(conn) == {date(1950, m, 1) for m in (3, 4, 5)}
            assert await logs.existing(conn) == {date(1950, 4, d) for d in (13, 15, 16)}
            bounds = await conn.scalar(
                text(
                    f"SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = '{SCHEMA}.readings_y1950m05'::regclass"
                )
            )
            assert bounds == "FOR VALUES FROM ('1950-05-01 00:00:00+00') TO ('1950-06-01 00:00:00+00')"
            # another process dropped a month: a table that does not remember makes it again
            await conn.execute(text(readings.drop_sql(date(1950, 5, 1))))
        async with engine.begin() as conn:
            assert await readings.ensure(conn, [datetime(1950, 5, 2, tzinfo=UTC)]) == [date(1950, 5, 1)]

        # a table that fails does not hold the others back; the round reports the failure
        gone = TimePartitions(SCHEMA, "missing", "month")
        failing = PartitionMaintainer(
            engine, [PartitionPolicy(gone, 0), PartitionPolicy(logs, ahead=2, retention=3)], name="kernel.partitions"
        )
        with pytest.raises(DBAPIError, match="missing"):
            await failing.round(now=datetime(1950, 4, 15, 6, tzinfo=UTC))
        async with engine.begin() as conn:
            assert date(1950, 4, 17) in await logs.existing(conn)
        assert failing.health()["ready"] is False

        # the worker: a round for today, ready once it reached the database
        stop = asyncio.Event()
        running = asyncio.create_task(maintainer.run(stop))  # a round for today: ready once it reached the database

        async def first_round() -> None:
            while maintainer.last_success is None:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(first_round(), 30)
        stop.set()
        await running
        assert maintainer.health()["ready"] is True
    finally:
        await engine.dispose()
