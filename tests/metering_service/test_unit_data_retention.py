"""Unit data retention: the history partitioned by UTC month of ``time``, whole months dropped past the
retention (never ``unit_data_latest``), idempotency by (unit, datasetId) across partitions and concurrent
batches, reports past the retention ignored, and migration 0010 moving existing rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from unit_data_helpers import COMMUNITY, document, register

from gridcommons.partitions import PartitionMaintainer
from gridcommons.testing.migrations import scratch_database
from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import utcnow
from metering_service.app import create_app
from metering_service.readings.partitions import add_months, month_of, month_start, next_month
from metering_service.settings import MeteringSettings
from metering_service.unit_data import partitions, service

# Months no other test writes unit data in: dropping the partitions before them touches no other test's data.
YEAR = 1950


def doc(unit: str, dataset_id: int, month: int, day: int = 10, *, cluster: str) -> dict[str, Any]:
    return document(unit, dataset_id, time=f"{YEAR}-{month:02d}-{day:02d}T12:00:00Z", cluster=cluster)


async def record(app: Any, company_id: int, docs: list[dict[str, Any]], expired_before: datetime | None) -> Any:
    async with app.state.sessionmaker() as session, session.begin():
        incoming = service.parse_request({"unit_data": docs}, ["body"])
        return await service.record(session, company_id, incoming, ["unit_data"], expired_before=expired_before)


async def partitions_of(db: asyncpg.Connection, table: str) -> set[str]:
    rows = await db.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST($1 AS regclass)",
        f"metering.{table}",
    )
    return {r[0] for r in rows}


async def unit_data_months(db: asyncpg.Connection) -> set[str]:
    return await partitions_of(db, "unit_data")


async def readings_months(db: asyncpg.Connection) -> set[str]:
    return await partitions_of(db, "readings")


async def history(db: asyncpg.Connection, company_id: int) -> list[tuple[str, int, datetime]]:
    rows = await db.fetch(
        "SELECT unit_code, dataset_id, time FROM metering.unit_data WHERE company_id = $1 ORDER BY 1, 2", company_id
    )
    return [(r[0], r[1], r[2]) for r in rows]


def test_oldest_kept_month_and_horizon() -> None:
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert partitions.oldest_kept(400, now) == (2025, 10)  # 2025-10-27 is 400 days back: October is kept
    assert partitions.horizon(400, now) == datetime(2025, 10, 1, tzinfo=UTC)
    assert partitions.oldest_kept(0, now) is None and partitions.horizon(0, now) is None
    # both DST days of 2026 in Paris: UTC months, the local clock plays no part
    assert partitions.oldest_kept(28, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == (2026, 3)
    assert partitions.oldest_kept(25, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == (2026, 9)


@settings(max_examples=300, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    days=st.integers(1, 3650),
    month_offset=st.integers(-130, 3),
)
def test_a_month_goes_once_all_of_it_is_past_the_retention(now: datetime, days: int, month_offset: int) -> None:
    """Against a reference: a partition is dropped exactly when its month ends at or before now - days (every
    row older than the retention), so history is kept at least ``days``; a report is ignored on arrival
    exactly when its month is one that goes."""
    month = add_months(month_of(now), month_offset)
    past = now - timedelta(days=days)
    dropped = month < partitions.oldest_kept(days, now)  # type: ignore[operator]
    assert dropped == (month_start(next_month(month)) <= past)
    horizon = partitions.horizon(days, now)
    assert horizon is not None and horizon <= past
    assert (month_start(month) < horizon) == dropped


async def test_retention_drops_old_months_only(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    cluster = f"ret{company_id}"
    await register(metering_app, company_id, ["E001", "E002"], cluster=cluster)
    sent = [
        doc("E001", 1, 1, cluster=cluster),
        doc("E002", 1, 1, cluster=cluster),
        doc("E001", 2, 2, cluster=cluster),
        doc("E001", 3, 3, cluster=cluster),
        doc("E002", 3, 3, day=31, cluster=cluster),
    ]
    device = internal_headers(company_id, "device")
    r = await metering_client.post("/api/ingest/unit-data", json={"unit_data": sent}, headers=device)
    assert r.status_code == 200 and r.json()["written"] == 5, r.text
    assert {f"unit_data_y{YEAR}m0{m}" for m in (1, 2, 3)} <= await unit_data_months(db)
    where = {"communityId": COMMUNITY, "clusterId": cluster}
    staff = internal_headers(company_id, "operator")
    latest_before = (await metering_client.get("/api/staff/unitData/latestSet", params=where, headers=staff)).json()
    assert set(latest_before) == {"E001", "E002"}

    # 45 days back from April 15th is March 1st: January and February go, March stays
    now = datetime(YEAR, 4, 15, tzinfo=UTC)
    maintainer = PartitionMaintainer(
        metering_app.state.engine, [partitions.policy(ahead=0, retention_days=45)], name="test", interval=3600
    )
    done = await maintainer.round(now=now)
    dropped = done["unit_data"]["dropped"]
    assert {f"unit_data_y{YEAR}m01", f"unit_data_y{YEAR}m02"} <= set(dropped)
    assert all(name < f"unit_data_y{YEAR}m03" for name in dropped)
    assert done["unit_data"]["created"] == [f"unit_data_y{YEAR}m04"]  # the current month, ahead=0
    months = await unit_data_months(db)
    assert f"unit_data_y{YEAR}m03" in months and f"unit_data_y{YEAR}m01" not in months
    assert [(u, d) for u, d, _ in await history(db, company_id)] == [("E001", 3), ("E002", 3)]
    # the newest reports are untouched (unit_data_latest is never pruned)
    latest_after = (await metering_client.get("/api/staff/unitData/latestSet", params=where, headers=staff)).json()
    assert latest_after == latest_before
    ids = (await metering_client.get("/api/staff/unitData/unitIdList", params=where, headers=staff)).json()
    assert ids == ["E001", "E002"]
    # a second round finds nothing to do; readings' partitions are another table's business
    assert await maintainer.round(now=now) == {"unit_data": {"created": [], "dropped": []}}
    readings_before = await readings_months(db)

    # Replays with the same horizon write nothing: the stored March reports are found, the dropped months'
    # reports are past the retention (their partition is not created again).
    horizon = partitions.horizon(45, now)
    assert horizon == datetime(YEAR, 3, 1, tzinfo=UTC)
    replay = await record(metering_app, company_id, sent, horizon)
    assert (replay.written, replay.unchanged) == (0, 5)
    assert f"unit_data_y{YEAR}m01" not in await unit_data_months(db)
    # the same (unit, datasetId) with another time, in the same month or another: still once
    moved = [doc("E001", 3, 3, day=20, cluster=cluster), doc("E002", 3, 4, day=2, cluster=cluster)]
    assert (await record(metering_app, company_id, moved, horizon)).written == 0
    assert [(u, d) for u, d, _ in await history(db, company_id)] == [("E001", 3), ("E002", 3)]
    # a new report is written; latestSet follows the highest datasetId as before
    fresh = doc("E002", 9, 4, day=3, cluster=cluster)
    assert (await record(metering_app, company_id, [fresh], horizon)).written == 1
    latest = (await metering_client.get("/api/staff/unitData/latestSet", params=where, headers=staff)).json()
    assert list(latest) == ["E002"] and latest["E002"]["datasetId"] == 9
    assert readings_before == await readings_months(db)


async def test_concurrent_batches_store_a_report_once(
    metering_app: Any, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    """Two batches carrying the same (unit, datasetId) with different times (different partitions), at once:
    one stores it, the other finds it (the per-unit lock), whatever the order."""
    cluster = f"con{company_id}"
    await register(metering_app, company_id, ["E001", "E002"], cluster=cluster)
    for round_ in range(5):
        a = [doc("E001", 100 + round_, 5, cluster=cluster), doc("E002", 100 + round_, 5, cluster=cluster)]
        b = [doc("E002", 100 + round_, 6, cluster=cluster), doc("E001", 100 + round_, 6, cluster=cluster)]
        results = await asyncio.gather(
            record(metering_app, company_id, a, None), record(metering_app, company_id, b, None)
        )
        assert sum(r.written for r in results) == 2, results
    stored = await history(db, company_id)
    assert len(stored) == 10 and len({(u, d) for u, d, _ in stored}) == 10


async def test_reports_past_the_retention_are_ignored(migrated: Stack, internal_headers, company_id: int) -> None:
    """The HTTP door with a retention: a report older than it is accepted and not stored (no event)."""
    app = create_app(MeteringSettings(modbus_poll=False, unit_data_retention_days=30))
    async with app.router.lifespan_context(app):
        cluster = f"old{company_id}"
        await register(app, company_id, ["E001"], cluster=cluster)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://metering-service") as client:
            recent = utcnow() - timedelta(days=1)
            old = utcnow() - timedelta(days=90)
            docs = [
                document("E001", 1, time=old.isoformat(), cluster=cluster),
                document("E001", 2, time=recent.isoformat(), cluster=cluster),
            ]
            r = await client.post(
                "/api/ingest/unit-data", json={"unit_data": docs}, headers=internal_headers(company_id, "device")
            )
            assert r.status_code == 200 and r.json() == {"received": 2, "written": 1, "unchanged": 1}, r.text
    async with app.router.lifespan_context(app):
        async with app.state.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT dataset_id FROM metering.unit_data WHERE company_id = :c"), {"c": company_id}
                )
            ).all()
            events = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM metering.outbox WHERE payload->>'companyid' = :c "
                        "AND topic = 'metering.unit-data.v1'"
                    ),
                    {"c": str(company_id)},
                )
            ).scalar_one()
    assert [r[0] for r in rows] == [2] and events == 1


async def test_migration_moves_the_rows(migrated: Stack) -> None:
    """0009 → 0010 on a database holding unit data: every row in its month's partition; and back."""
    from gridcommons.migrations import downgrade, upgrade
    from gridcommons.registry import load_registry

    entry = next(e for e in load_registry() if e.name == "metering-service")
    async with scratch_database(migrated.database_url) as url:
        await asyncio.to_thread(upgrade, entry.migrations, url, "0009")
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            for i, t in enumerate(
                ["2026-03-29T00:30:00Z", "2026-03-31T23:59:59Z", "2026-04-01T00:00:00Z", "2019-12-31T20:36:10Z"]
            ):
                await conn.execute(
                    "INSERT INTO metering.unit_data (company_id, unit_id, community_code, cluster_code, unit_code, "
                    "dataset_id, time, document) VALUES (1, 7, 'c', 'k', 'E001', $1, $2, '{}')",
                    i,
                    datetime.fromisoformat(t),
                )
            await asyncio.to_thread(upgrade, entry.migrations, url, "0010")
            months = await unit_data_months(conn)
            assert months == {"unit_data_y2019m12", "unit_data_y2026m03", "unit_data_y2026m04"}
            per_partition = await conn.fetch(
                "SELECT tableoid::regclass::text AS p, array_agg(dataset_id ORDER BY dataset_id) AS ids "
                "FROM metering.unit_data GROUP BY 1 ORDER BY 1"
            )
            assert [(r["p"], r["ids"]) for r in per_partition] == [
                ("metering.unit_data_y2019m12", [3]),
                ("metering.unit_data_y2026m03", [0, 1]),
                ("metering.unit_data_y2026m04", [2]),
            ]
            await asyncio.to_thread(downgrade, entry.migrations, url, "0009")
            assert await conn.fetchval("SELECT count(*) FROM metering.unit_data") == 4
            relkind = "SELECT relkind::text FROM pg_class WHERE oid = 'metering.unit_data'::regclass"
            assert await conn.fetchval(relkind) == "r"
        finally:
            await conn.close()


@pytest.mark.parametrize("days", [0, 1, 400])
def test_policy_of_the_worker(days: int) -> None:
    policy = partitions.policy(ahead=2, retention_days=days)
    assert policy.partitions is partitions.UNIT_DATA and policy.ahead == 2
    assert policy.retention == (timedelta(days=days) if days else None)
    now = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first = partitions.UNIT_DATA.oldest_kept(now, policy.retention)
    assert (None if first is None else (first.year, first.month)) == partitions.oldest_kept(days, now)
    # the names and bounds the migrations created (0010), and the lock key of the earlier mechanism
    assert partitions.UNIT_DATA.name(date(2026, 3, 1)) == "unit_data_y2026m03"
    assert partitions.UNIT_DATA.lock_key == 4067783731041488868
