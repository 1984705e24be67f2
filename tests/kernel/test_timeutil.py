"""gridcommons.timeutil: delivery days and quarter hours in the regions' local calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcommons.timeutil import (
    QUARTER_HOUR,
    delivery_day_bounds,
    delivery_day_of,
    is_quarter_aligned,
    iso_utc,
    quarter_hours,
    region_tz,
    utcnow,
)

REGIONS = ["DE", "PL"]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2026, 3, 29), 92),  # spring forward: 23 hours
        (date(2026, 10, 25), 100),  # fall back: 25 hours
        (date(2026, 3, 28), 96),
        (date(2026, 3, 30), 96),
        (date(2026, 10, 24), 96),
        (date(2026, 10, 26), 96),
        (date(2026, 1, 1), 96),
        (date(2026, 6, 21), 96),
        (date(2025, 3, 30), 92),
        (date(2025, 10, 26), 100),
        (date(2024, 2, 29), 96),
    ],
)
def test_quarter_hour_counts(region: str, day: date, count: int) -> None:
    assert len(quarter_hours(day, region)) == count


@pytest.mark.parametrize("region", REGIONS)
def test_bounds_are_local_midnights_in_utc(region: str) -> None:
    # Winter: CET = UTC+1, summer: CEST = UTC+2 (Berlin and Warsaw share them).
    assert delivery_day_bounds(date(2026, 1, 15), region) == (
        datetime(2026, 1, 14, 23, tzinfo=UTC),
        datetime(2026, 1, 15, 23, tzinfo=UTC),
    )
    assert delivery_day_bounds(date(2026, 3, 29), region) == (
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
    )
    assert delivery_day_bounds(date(2026, 10, 25), region) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )


def test_unknown_region_is_refused() -> None:
    with pytest.raises(KeyError):
        quarter_hours(date(2026, 1, 1), "FR")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(REGIONS))
def test_quarter_hours_tile_the_delivery_day(day: date, region: str) -> None:
    start, end = delivery_day_bounds(day, region)
    qhs = quarter_hours(day, region)
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert qhs[0] == start
    assert qhs[-1] + QUARTER_HOUR == end
    assert all(b - a == QUARTER_HOUR for a, b in zip(qhs, qhs[1:], strict=False))
    assert len(qhs) in (92, 96, 100)
    assert len(qhs) * QUARTER_HOUR == end - start
    assert all(is_quarter_aligned(q) for q in qhs)
    assert all(delivery_day_of(q, region) == day for q in qhs)
    # the next day starts where this one ends
    assert delivery_day_bounds(day + timedelta(days=1), region)[0] == end


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(REGIONS),
)
def test_delivery_day_of_is_inside_its_bounds(instant: datetime, region: str) -> None:
    day = delivery_day_of(instant, region)
    start, end = delivery_day_bounds(day, region)
    assert start <= instant < end


@pytest.mark.parametrize("region", REGIONS)
def test_delivery_day_of_edges(region: str) -> None:
    start, end = delivery_day_bounds(date(2026, 10, 25), region)
    assert delivery_day_of(start, region) == date(2026, 10, 25)
    assert delivery_day_of(start - timedelta(microseconds=1), region) == date(2026, 10, 24)
    assert delivery_day_of(end - timedelta(microseconds=1), region) == date(2026, 10, 25)
    assert delivery_day_of(end, region) == date(2026, 10, 26)
    # 23:30 UTC on 2026-01-01 is already 2026-01-02 in Berlin/Warsaw
    assert delivery_day_of(datetime(2026, 1, 1, 23, 30, tzinfo=UTC), region) == date(2026, 1, 2)


def test_is_quarter_aligned() -> None:
    assert is_quarter_aligned(datetime(2026, 1, 1, 10, 45, tzinfo=UTC))
    assert not is_quarter_aligned(datetime(2026, 1, 1, 10, 44, tzinfo=UTC))
    assert not is_quarter_aligned(datetime(2026, 1, 1, 10, 45, 1, tzinfo=UTC))
    assert not is_quarter_aligned(datetime(2026, 1, 1, 10, 45, 0, 1, tzinfo=UTC))


def test_utcnow_and_region_tz() -> None:
    now = utcnow()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert str(region_tz("DE")) == "Europe/Berlin" and str(region_tz("PL")) == "Europe/Warsaw"


def test_iso_utc_writes_instants_as_pydantic_does() -> None:
    from pydantic import TypeAdapter

    dump = TypeAdapter(datetime).dump_python
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=region_tz("DE"))
    for instant in (berlin, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)):
        assert iso_utc(instant) == dump(instant.astimezone(UTC), mode="json")
    assert iso_utc(berlin) == "2026-03-29T01:30:00Z"
    assert iso_utc(datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=UTC), timespec="seconds") == "2026-01-01T00:00:00Z"
