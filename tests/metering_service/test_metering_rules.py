"""The upsert rule against a reference dict (hypothesis), the field rules of the fast parser against
the documented model, partitions (on demand, month boundaries in UTC, ahead, retention)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import all_readings, ingest, new_series, z
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.db import unit_of_work
from gridcommons.errors import ValidationFailed
from metering_service.readings import partitions, service
from metering_service.readings.parsing import check_items
from metering_service.readings.repository import WritePlan
from metering_service.readings.schemas import QUALITY_RANK, ReadingInput

T0 = datetime(2026, 4, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
QUALITIES = list(QUALITY_RANK)

reading = st.tuples(
    st.integers(0, 1),  # series index
    st.integers(0, 5),  # quarter hour
    st.integers(-3, 3),  # value
    st.sampled_from(QUALITIES),
)
batches = st.lists(st.lists(reading, min_size=1, max_size=8, unique_by=lambda r: (r[0], r[1])), min_size=1, max_size=5)


def apply_reference(stored: dict[tuple[int, int], tuple[int, str]], batch: list[tuple[int, int, int, str]]) -> None:
    """The rule as stated: the same (series, instant) again replaces when its quality is equal or better."""
    for s, k, v, q in batch:
        held = stored.get((s, k))
        if held is None or QUALITY_RANK[q] >= QUALITY_RANK[held[1]]:
            stored[(s, k)] = (v, q)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, replay=st.booleans())
async def test_upsert_rule_matches_a_reference(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, batches: list[Any], replay: bool
) -> None:
    op = internal_headers(company_id, "operator")
    series = [await new_series(metering_client, op, kind="instantaneous", unit="kW") for _ in range(2)]
    stored: dict[tuple[int, int], tuple[int, str]] = {}
    for batch in batches + (batches if replay else []):
        body = [{"series_id": series[s]["id"], "time": z(T0 + k * Q), "value": v, "quality": q} for s, k, v, q in batch]
        before = dict(stored)
        r = await ingest(metering_client, op, body)
        assert r.status_code == 200, r.text
        apply_reference(stored, batch)
        changed = sum(1 for key, held in stored.items() if before.get(key) != held)
        assert r.json()["written"] == changed
    for index, s in enumerate(series):
        got = await all_readings(metering_client, op, s["id"])
        expected = sorted((k, v, q) for (si, k), (v, q) in stored.items() if si == index)
        assert [(g["time"], g["value"], g["quality"]) for g in got] == [
            (z(T0 + k * Q), str(v), q) for k, v, q in expected
        ]


async def test_same_value_twice_in_a_batch_keeps_the_best_quality(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    one = {"series_id": s["id"], "time": z(T0), "value": "5.0"}
    r = await ingest(
        metering_client, op, [{**one, "quality": "estimated"}, {**one, "value": "5", "quality": "corrected"}]
    )
    assert r.json() == {"received": 2, "written": 1, "unchanged": 1}
    assert [(g["value"], g["quality"]) for g in await all_readings(metering_client, op, s["id"])] == [
        ("5", "corrected")
    ]


# ---- the fast parser applies the documented model's rules

item = st.fixed_dictionaries(
    {},
    optional={
        "series_id": st.one_of(st.integers(-2, 3), st.just(2**63), st.booleans(), st.text(max_size=3)),
        "external_key": st.one_of(st.just("m/1"), st.just(" m"), st.just(""), st.integers(0, 2)),
        "time": st.one_of(
            st.just("2026-04-01T00:00:00Z"),
            st.just("2026-04-01T02:00:00+02:00"),
            st.just("2026-04-01T00:00:00"),
            st.just("2026-04-01"),
            st.just("2026-04-01T00:00:00.1234567Z"),
            st.just("2026-04-01T00:00:00.1234560Z"),
            st.just("1899-12-31T23:59:59Z"),
            st.integers(0, 10),
        ),
        "value": st.one_of(
            st.integers(-(10**21), 10**21),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from(["1.5", "-0", "1e3", "NaN", " 1", "1_0", "0." + "1" * 19, "1" * 21, "12.000"]),
            st.none(),
        ),
        "quality": st.sampled_from([*QUALITIES, "bad", None]),
        "unit": st.sampled_from(["kWh", "W", "furlong", None]),
        "colour": st.just("red"),
    },
)


@settings(max_examples=400, deadline=None)
@given(item=item)
def test_fast_parser_agrees_with_the_documented_model(item: dict[str, Any]) -> None:
    try:
        model = ReadingInput.model_validate(item)
    except ValidationError:
        model = None
    try:
        checked = check_items([item], ["readings"])
    except ValidationFailed:
        checked = None
    assert (model is None) == (checked is None), (item, model, checked)
    if model is not None and checked is not None:
        assert checked.times[0] == model.time and checked.values[0] == model.value
        assert checked.qualities[0] == QUALITY_RANK[model.quality.value]
        assert checked.series_ids[0] == model.series_id and checked.keys[0] == model.external_key


# ---- partitions


async def partition_of(db: asyncpg.Connection, series_id: int, instant: datetime) -> str:
    return str(
        await db.fetchval(
            "SELECT tableoid::regclass::text FROM metering.readings WHERE series_id = $1 AND ts = $2",
            series_id,
            instant,
        )
    )


async def test_month_boundaries_in_utc_and_partitions_on_demand(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    # 1950: no partition exists so far back; the batch creates the ones it needs
    assert not await db.fetchval("SELECT to_regclass('metering.readings_y1950m01') IS NOT NULL")
    body = [
        {"series_id": s["id"], "time": "1950-01-31T23:59:59.999999Z", "value": 1},
        {"series_id": s["id"], "time": "1950-02-01T00:00:00Z", "value": 2},
        {"series_id": s["id"], "time": "1950-02-01T00:30:00+01:00", "value": 3},  # 23:30Z on Jan 31
        {"series_id": s["id"], "time": "1950-03-01T00:59:59-05:00", "value": 4},  # 05:59Z on Mar 1
    ]
    r = await ingest(metering_client, op, body)
    assert r.status_code == 200, r.text
    assert (
        await partition_of(db, s["id"], datetime(1950, 1, 31, 23, 59, 59, 999999, tzinfo=UTC))
        == "metering.readings_y1950m01"
    )
    assert await partition_of(db, s["id"], datetime(1950, 2, 1, tzinfo=UTC)) == "metering.readings_y1950m02"
    assert await partition_of(db, s["id"], datetime(1950, 1, 31, 23, 30, tzinfo=UTC)) == "metering.readings_y1950m01"
    assert await partition_of(db, s["id"], datetime(1950, 3, 1, 5, 59, 59, tzinfo=UTC)) == "metering.readings_y1950m03"
    bounds = await db.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'metering.readings_y1950m02'::regclass"
    )
    assert bounds == "FOR VALUES FROM ('1950-02-01 00:00:00+00') TO ('1950-03-01 00:00:00+00')"
    # a refused batch creates no partition (its transaction is rolled back)
    bad = [
        {"series_id": s["id"], "time": "1951-06-01T00:00:00Z", "value": 1},
        {"series_id": 0, "time": z(T0), "value": 1},
    ]
    assert (await ingest(metering_client, op, bad)).status_code == 422
    bad = [
        {"series_id": s["id"], "time": "1951-06-01T00:00:00Z", "value": 1},
        {"series_id": s["id"], "time": "1951-06-01T00:00:00Z", "value": 2},
    ]
    assert (await ingest(metering_client, op, bad)).status_code == 422
    assert not await db.fetchval("SELECT to_regclass('metering.readings_y1951m06') IS NOT NULL")


@pytest.fixture
def engine(metering_app: Any) -> AsyncEngine:
    return metering_app.state.engine  # type: ignore[no-any-return]


async def test_maintenance_creates_ahead_and_drops_past_the_retention(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    exists = "SELECT to_regclass($1) IS NOT NULL"
    now = datetime(1910, 11, 15, tzinfo=UTC)
    done = await partitions.maintain(engine, ahead=2, retention_months=None, now=now)
    assert done["created"] == ["readings_y1910m11", "readings_y1910m12", "readings_y1911m01"]
    assert (await partitions.maintain(engine, ahead=2, retention_months=None, now=now))["created"] == []
    async with engine.begin() as conn:
        await partitions.ensure_months(conn, {(1910, 6), (1910, 7), (1910, 8)})
    # retention 3 months at 1910-11: 1910-08 and later are kept
    done = await partitions.maintain(engine, ahead=0, retention_months=3, now=now)
    assert done["dropped"] == ["readings_y1910m06", "readings_y1910m07"]
    assert not await db.fetchval(exists, "metering.readings_y1910m07")
    assert await db.fetchval(exists, "metering.readings_y1910m08")
    for name in ("readings_y1910m08", "readings_y1910m11", "readings_y1910m12", "readings_y1911m01"):
        await db.execute(f"DROP TABLE metering.{name}")


async def test_the_worker_keeps_the_coming_months_ready(metering_app: Any, db: asyncpg.Connection) -> None:
    """The in-process worker ran at start-up: this month and the next three exist."""
    month = partitions.month_of(datetime.now(UTC))
    for k in range(4):
        name = partitions.partition_name(partitions.add_months(month, k))
        assert await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"metering.{name}"), name


def test_month_arithmetic() -> None:
    # the kernel's monthly partitions of readings: the names, bounds and lock key the service always used
    assert partitions.READINGS.step == "month" and partitions.READINGS.parent == "readings"
    assert partitions.LOCK_KEY == partitions.READINGS.lock_key == 6281129897781755944
    assert partitions.partition_name((2026, 3)) == "readings_y2026m03"
    assert partitions.month_start((2026, 12)) == datetime(2026, 12, 1, tzinfo=UTC)
    assert partitions.next_month((2026, 12)) == (2027, 1) and partitions.next_month((9999, 12)) == (10000, 1)
    assert partitions.month_of(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == (2026, 3)
    assert partitions.add_months((2026, 11), 3) == (2027, 2)
    assert partitions.add_months((2026, 1), -1) == (2025, 12)
    assert partitions.months_of([datetime(2026, 12, 31, 23, 0, tzinfo=UTC)]) == {(2026, 12)}
    assert Decimal("1.0") == Decimal("1")


# ---- the write plans give the same result; the append fast path yields to a concurrent writer


@pytest.mark.parametrize(
    "plan", [WritePlan("unnest", False), WritePlan("copy", False), WritePlan("unnest", True), WritePlan("copy", True)]
)
async def test_every_write_plan_applies_the_same_rule(
    metering_client: httpx.AsyncClient, metering_app: Any, internal_headers, company_id: int, plan: WritePlan
) -> None:
    op = internal_headers(company_id, "operator")
    series = [await new_series(metering_client, op, kind="instantaneous", unit="kW") for _ in range(2)]
    rng = random.Random(7)
    stored: dict[tuple[int, int], tuple[int, str]] = {}
    for _ in range(6):
        batch = list(
            {
                (s, k): (s, k, rng.randint(-2, 2), rng.choice(QUALITIES))
                for s, k in ((rng.randint(0, 1), rng.randint(0, 40)) for _ in range(30))
            }.values()
        )
        items = [
            {"series_id": series[s]["id"], "time": z(T0 + k * Q), "value": v, "quality": q} for s, k, v, q in batch
        ]
        async with unit_of_work(metering_app.state.sessionmaker) as session:
            await service.record_readings(session, company_id, items, ["readings"], plan=plan)
        apply_reference(stored, batch)
    for index, s in enumerate(series):
        got = await all_readings(metering_client, op, s["id"])
        expected = sorted((k, v, q) for (si, k), (v, q) in stored.items() if si == index)
        assert [(g["time"], g["value"], g["quality"]) for g in got] == [
            (z(T0 + k * Q), str(v), q) for k, v, q in expected
        ]


async def test_append_yields_to_a_concurrent_writer(
    metering_client: httpx.AsyncClient, metering_app: Any, internal_headers, company_id: int
) -> None:
    """Two batches over the same free range at once: the second sees the range free (the first's rows
    are not committed), waits on their keys, and once the first commits applies the upsert rule
    (its COPY failed on a unique key and was rolled back to its savepoint)."""
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, kind="instantaneous", unit="kW")
    first = [{"series_id": s["id"], "time": z(T0 + k * Q), "value": 1, "quality": "measured"} for k in range(10)]
    second = [{"series_id": s["id"], "time": z(T0 + k * Q), "value": 2, "quality": "estimated"} for k in range(5, 15)]
    sessionmaker = metering_app.state.sessionmaker
    async with unit_of_work(sessionmaker) as one:
        await service.record_readings(one, company_id, first, ["readings"])

        async def later() -> Any:
            async with unit_of_work(sessionmaker) as two:
                return await service.record_readings(two, company_id, second, ["readings"])

        task = asyncio.create_task(later())
        await asyncio.sleep(1.0)  # the second batch is waiting on the first's keys
        assert not task.done()
    answer = await asyncio.wait_for(task, 30)
    assert answer.written == 5  # 10..14; 5..9 are measured already and keep their value
    got = await all_readings(metering_client, op, s["id"])
    assert [g["value"] for g in got] == ["1"] * 10 + ["2"] * 5
