"""Rollups (15 min, 1 h, local day, local month) against a straightforward reference on random data
(hypothesis): both DST days of 2026 in Europe/Paris, Europe/Berlin and Europe/Warsaw, counter resets and
rollovers, gaps; the pure computation and the whole path through ingestion, storage and the read."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import ingest, new_series, z
from rollup_reference import check_buckets

from gridcommons.timeutil import calendar_buckets
from metering_service.readings.schemas import ReadingListResponse
from metering_service.rollups.quarters import QUARTER_US, compute, to_micro, to_us
from metering_service.rollups.service import buckets_of

ZONES = ["Europe/Paris", "Europe/Berlin", "Europe/Warsaw"]
DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2026, 6, 15)]  # both DST days, and a plain one
STEPS = ["15m", "1h", "1d", "1mo"]


def _value(rng: random.Random, whole: Decimal) -> Decimal:
    """``whole`` (3 decimals) or, now and then, with digits beyond the 6 the rollups keep: random ones or an
    exact half of the last kept digit (rounded half-even)."""
    roll = rng.random()
    if roll < 0.1:
        return whole + Decimal(rng.randrange(1, 1000)).scaleb(-9)
    if roll < 0.15:
        return whole + Decimal(rng.randrange(0, 1000) * 10 + 5).scaleb(-7)
    return whole


@st.composite
def series_data(draw: Any) -> tuple[str, str, date, list[tuple[datetime, Decimal]]]:
    """A zone, a day, a kind and readings around that local day: regular or irregular steps with gaps;
    cumulative values as a counter (small, or near 10¹² with 3 decimals) with resets and rollovers."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(DAYS))
    kind = draw(st.sampled_from(["instantaneous", "cumulative"]))
    tz = ZoneInfo(zone)
    t = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC) - timedelta(hours=2)
    t += timedelta(seconds=draw(st.sampled_from([0, 0, 60, 450, 899])), microseconds=draw(st.sampled_from([0, 0, 1])))
    rng = random.Random(draw(st.integers(0, 2**32)))
    n = draw(st.integers(0, 160))
    steps = draw(st.lists(st.sampled_from([60, 300, 900, 900, 900, 1800, 3600, 7200, 37]), min_size=1, max_size=4))
    modulus = draw(st.sampled_from([Decimal(100_000), Decimal(10**12)]))
    counter = rng.choice([Decimal(0), Decimal("1234.5"), modulus - 20, Decimal(65_500), modulus - Decimal("0.5")])
    out: list[tuple[datetime, Decimal]] = []
    for _ in range(n):
        if kind == "instantaneous":
            value = _value(rng, Decimal(rng.randint(-500_000, 5_000_000)).scaleb(-3))
        else:
            event = rng.random()
            if event < 0.03:
                counter = Decimal(rng.randint(0, 3000)).scaleb(-3)  # a reset
            else:
                counter += rng.choice([Decimal(0), Decimal("0.25"), Decimal("1.5"), Decimal("7.125"), Decimal("0.1")])
                if counter >= modulus and rng.random() < 0.5:
                    counter -= modulus  # a decimal register's rollover
            value = _value(rng, counter)
        out.append((t, value))
        t += timedelta(seconds=rng.choice(steps))
    return zone, kind, day, out


def window(zone: str, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC) - timedelta(hours=3)
    return start, start + timedelta(hours=32)


@settings(max_examples=300, deadline=None)
@given(data=series_data())
def test_rollups_match_the_reference(data: tuple[str, str, date, list[tuple[datetime, Decimal]]]) -> None:
    zone, kind, day, readings = data
    tz = ZoneInfo(zone)
    start, end = window(zone, day)
    first = to_us(start - timedelta(days=40)) // QUARTER_US  # the whole months around the readings
    times, values = [to_us(t) for t, _ in readings], [to_micro(v) for _, v in readings]
    quarters = compute(kind == "cumulative", times, values, first, 80 * 96)
    for step in STEPS:
        got = buckets_of(kind == "cumulative", quarters, calendar_buckets(start, end, tz, step))
        check_buckets(kind, readings, got, tz, step, start, end)


def test_dst_days_have_23_and_25_hours() -> None:
    for zone in ZONES:
        tz = ZoneInfo(zone)
        for day, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25)):
            start = datetime(day.year, day.month, day.day, 12, tzinfo=tz)
            [(a, b)] = calendar_buckets(start, start + timedelta(hours=1), tz, "1d")
            assert (b.astimezone(UTC) - a.astimezone(UTC)) == timedelta(hours=hours)
            assert len(calendar_buckets(a, b, tz, "15m")) == hours * 4
            assert len(calendar_buckets(a, b, tz, "1h")) == hours


async def read(client: httpx.AsyncClient, headers: dict[str, str], sid: int, **params: Any) -> httpx.Response:
    return await client.get(f"/api/metering/series/{sid}/readings", params=params, headers=headers)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=series_data(), splits=st.integers(1, 4), seed=st.integers(0, 1000))
async def test_ingested_rollups_match_the_reference_whatever_the_batch_order(
    metering_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    data: tuple[str, str, date, list[tuple[datetime, Decimal]]],
    splits: int,
    seed: int,
) -> None:
    """The readings arrive in batches in a random order (late data recomputes the days it touches):
    the stored rollups end equal to the reference over all readings."""
    zone, kind, day, readings = data
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, kind=kind, unit="kWh" if kind == "cumulative" else "kW", timezone=zone)
    batches = [readings[i::splits] for i in range(splits)]
    random.Random(seed).shuffle(batches)
    for batch in batches:
        if batch:
            body = [{"series_id": s["id"], "time": z(t), "value": format(v, "f")} for t, v in batch]
            r = await ingest(metering_client, op, body)
            assert r.status_code == 200, r.text
    start, end = window(zone, day)
    for step in STEPS:
        r = await read(metering_client, op, s["id"], resolution=step, **{"from": z(start), "to": z(end)})
        assert r.status_code == 200, r.text
        body = r.json()
        ReadingListResponse.model_validate(body)  # the answer, serialized by hand, is the documented shape
        assert body["resolution"] == step and body["timezone"] == zone and body["readings"] == []
        check_buckets(kind, readings, body["buckets"], ZoneInfo(zone), step, start, end)


async def test_other_time_zone_and_bad_requests(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, timezone="Europe/Warsaw")
    t0 = datetime(2026, 3, 28, 23, tzinfo=UTC)  # Warsaw midnight of 29 March
    readings = [(t0 + timedelta(minutes=15 * k), Decimal(k)) for k in range(93)]
    r = await ingest(metering_client, op, [{"series_id": s["id"], "time": z(t), "value": str(v)} for t, v in readings])
    assert r.status_code == 200, r.text
    start, end = t0, t0 + timedelta(hours=23)
    r = await read(metering_client, op, s["id"], resolution="1d", tz="Europe/Paris", **{"from": z(start), "to": z(end)})
    assert r.status_code == 200, r.text
    [day] = r.json()["buckets"]  # Paris and Warsaw share the offsets: the same 23-hour day
    assert day["start"] == "2026-03-29T00:00:00+01:00" and day["end"] == "2026-03-30T00:00:00+02:00"
    assert day["value"] == "92" and day["coverage"] == {"expected": 92, "received": 92, "fraction": 1.0}
    r = await read(metering_client, op, s["id"], resolution="1h", tz="Asia/Kolkata", **{"from": z(start), "to": z(end)})
    assert r.status_code == 200
    check_buckets("cumulative", readings, r.json()["buckets"], ZoneInfo("Asia/Kolkata"), "1h", start, end)
    bad = [
        {"resolution": "1d"},  # no range
        {"resolution": "1d", "from": z(end), "to": z(start)},
        {"resolution": "1d", "from": z(start), "to": z(end), "tz": "Mars/Olympus"},
        {"resolution": "15m", "from": z(start), "to": z(start + timedelta(days=500))},
        {"resolution": "2h", "from": z(start), "to": z(end)},
    ]
    for params in bad:
        r = await read(metering_client, op, s["id"], **params)
        assert r.status_code == 422, (params, r.text)
    other = internal_headers(company_id + 1, "operator")
    r = await read(metering_client, other, s["id"], resolution="1d", **{"from": z(start), "to": z(end)})
    assert r.status_code == 404
