"""The hourly sums read from the 15-minute buckets (``deal_sum_buckets``) answer exactly what the deals
answer: random deals, zones (DST, 30/45-minute offsets, local mean time eras, fixed offsets on and off
the quarter hours) and windows against the direct computation over the deals and a Python reference;
the buckets stay equal to the deals under out-of-order, repeated and concurrent reports; the
migration backfills the buckets of the deals already there."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from deal_helpers import register, report
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deal_service.deals import repository
from deal_service.deals.repository import DealScope
from deal_service.deals.schemas import parse_timezone
from gridcommons.datetime_window import parse_window
from gridcommons.db import asyncpg_dsn, unit_of_work
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry
from gridcommons.testing.migrations import scratch_database
from gridcommons.testing.plugin import Stack

INGEST = "/api/ingest/deals"
SUMS = "sumOfCumulateAmountWhsByHour"
UNITS = ("E001", "E002", "E003", "E004")
DST_DAYS = (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC))
QUARTER = timedelta(minutes=15)
ORIGIN = datetime(1900, 1, 1, tzinfo=UTC)
# a company per example, never one an earlier example wrote deals for
COMPANIES = itertools.count(4_000_000_000 + uuid.uuid4().int % 1_000_000 * 1000)

# IANA zones with DST (one of them by 30 minutes), with 30- and 45-minute offsets, and with local mean
# time offsets in seconds in their past (Amsterdam +00:19:32 until 1937, Monrovia -00:44:30 until
# 1972, Kathmandu +05:41:16 until 1920); fixed offsets on and off the quarter hours.
ZONES = (
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Europe/Amsterdam",
    "Africa/Monrovia",
    "Z",
    "+09:00",
    "-03:30",
    "+05:45",
    "+05:07",
    "-00:01",
)

instants = st.one_of(
    st.builds(
        lambda day, seconds: day + timedelta(seconds=seconds),
        st.sampled_from(DST_DAYS),
        st.integers(-20 * 3600, 30 * 3600),
    ),
    # around the quarter hours of a DST day, to the microsecond
    st.builds(
        lambda day, quarter, micros: day + quarter * QUARTER + timedelta(microseconds=micros),
        st.sampled_from(DST_DAYS),
        st.integers(-8, 130),
        st.sampled_from([-1, 0, 1, 30_000_000, 899_999_999]),
    ),
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
deal_strategy = st.lists(
    st.tuples(
        instants,
        st.one_of(st.none(), st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False)),
        st.sampled_from(UNITS),  # charging unit
        st.one_of(st.none(), st.sampled_from(UNITS)),  # discharging unit (maybe the same, maybe none)
    ),
    min_size=1,
    max_size=40,
)
windows = st.one_of(
    st.none(),
    st.builds(
        lambda day, start, length: (day + timedelta(seconds=start), day + timedelta(seconds=start + length)),
        st.sampled_from(DST_DAYS),
        st.integers(-20 * 3600, 30 * 3600),
        st.integers(1, 40 * 3600),
    ),
    st.builds(lambda day: (day, None), st.sampled_from(DST_DAYS)),
    st.builds(lambda day: (None, day + timedelta(seconds=1234)), st.sampled_from(DST_DAYS)),
)


def iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def python_zone(zone: str) -> tzinfo:
    if zone == "Z":
        return UTC
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return ZoneInfo(zone)


def reference(
    deals: list[tuple[datetime, Decimal | None, str, str | None]],
    zone: str,
    window: tuple[datetime | None, datetime | None] | None,
    unit: str | None,
) -> dict[str, float]:
    """Each deal's amount added to the hour of its createDateTime in the zone (Python's tz database)."""
    start, end = window or (None, None)
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for created, amount, charging, discharging in deals:
        if amount is None or (start is not None and created < start) or (end is not None and created >= end):
            continue
        if unit is not None and unit not in (charging, discharging):
            continue
        sums[created.astimezone(python_zone(zone)).hour] += Decimal(repr(float(amount)))
    return {str(h): float(sums[h]) for h in sorted(sums)}


def window_params(window: tuple[datetime | None, datetime | None] | None) -> dict[str, str]:
    if window is None:
        return {}
    start, end = window
    return {
        **({} if start is None else {"datetimeFrom": iso(start)}),
        **({} if end is None else {"datetimeTo": iso(end)}),
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=deal_strategy, zone=st.sampled_from(ZONES), window=windows)
async def test_sums_from_buckets_equal_the_sums_of_the_deals(
    deal_app: FastAPI,
    deal_client: httpx.AsyncClient,
    internal_headers: Any,
    deals: list[Any],
    zone: str,
    window: Any,
) -> None:
    company_id = next(COMPANIES)
    reg = await register(deal_app, company_id, units=UNITS)
    op = internal_headers(company_id, "operator")
    reports = [
        report(
            f"s-{i}",
            createDateTime=iso(created),
            cumulateAmountWh=None if amount is None else float(amount),
            chargeUnitId=charging,
            dischargeUnitId=discharging,
            reportTime=1_700_000_000,
        )
        for i, (created, amount, charging, discharging) in enumerate(deals)
    ]
    assert (await deal_client.post(INGEST, json={"deals": reports}, headers=op)).status_code == 200
    params = {"timezone": zone, **window_params(window)}
    parsed_zone = parse_timezone(zone)
    parsed_window = parse_window(params.get("datetimeFrom"), params.get("datetimeTo"))

    async def direct(unit: str | None) -> dict[str, float]:
        scope = DealScope(company_id, reg.community, reg.cluster, unit)
        async with unit_of_work(deal_app.state.sessionmaker) as session:
            rows = await repository.hourly_sums_of_deals(session, scope, parsed_zone, parsed_window)
        return {str(h): float(s) for h, s in rows}

    staff = await deal_client.get(f"/api/staff/deal/{SUMS}", params={**reg.cc(), **params}, headers=op)
    assert staff.status_code == 200, staff.text
    assert staff.json() == await direct(None) == reference(deals, zone, window, None)
    for unit in ("E001", "E004"):
        who = dict(internal_headers(company_id, "member", subject=str(reg.residents[unit])))
        got = await deal_client.get(f"/api/resident/deal/{SUMS}", params={**reg.ccu(unit), **params}, headers=who)
        assert got.status_code == 200, got.text
        assert got.json() == await direct(unit) == reference(deals, zone, window, unit)


# ----------------------------------------------------------------------------- buckets == deals
def expected_buckets(deals: list[asyncpg.Record]) -> dict[tuple[str, datetime], tuple[int, Decimal]]:
    """What deal_sum_buckets must hold for these deals rows, computed in Python."""
    out: dict[tuple[str, datetime], list[Any]] = {}
    for d in deals:
        if d["cumulate_amount_wh"] is None:
            continue
        created = d["create_date_time"]
        bucket = created - (created - ORIGIN) % QUARTER
        units = {"", d["charge_unit_id"], d["discharge_unit_id"]} - {None}
        for unit in units:
            held = out.setdefault((unit, bucket), [0, Decimal(0)])
            held[0] += 1
            held[1] += d["cumulate_amount_wh"]
    return {k: (n, total) for k, (n, total) in out.items()}


async def buckets_and_deals(database_url: str, company_id: int) -> tuple[dict[Any, Any], list[asyncpg.Record]]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        held = await conn.fetch(
            "SELECT unit_code, bucket, deals, total FROM deal.deal_sum_buckets WHERE company_id = $1 AND deals <> 0",
            company_id,
        )
        deals = await conn.fetch("SELECT * FROM deal.deals WHERE company_id = $1", company_id)
    finally:
        await conn.close()
    return {(r["unit_code"], r["bucket"]): (r["deals"], r["total"]) for r in held}, list(deals)


async def test_buckets_follow_out_of_order_repeated_and_concurrent_reports(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int, stack: Stack
) -> None:
    reg = await register(deal_app, company_id, units=UNITS)
    op = internal_headers(company_id, "operator")
    rng = random.Random(11)
    day = DST_DAYS[1]
    versions = []
    for deal in range(60):
        for n in range(6):
            # a deal's later reports may move it to another quarter, unit or amount, or drop the amount
            created = day + timedelta(minutes=rng.choice([0, 14, 15, 59, 61, 120, 181]), seconds=deal)
            amount = None if rng.random() < 0.15 else round(rng.uniform(0, 3000), 3)
            versions.append(
                report(
                    f"c-{deal}",
                    createDateTime=iso(created),
                    cumulateAmountWh=amount,
                    chargeUnitId=rng.choice(UNITS),
                    dischargeUnitId=rng.choice([*UNITS, None]),
                    reportTime=1_700_000_000 + n * 30,
                )
            )
    newest = {r["dealId"]: r for r in versions}  # versions are in reportTime order per deal
    sent = versions + rng.sample(versions, 120)  # redelivered
    rng.shuffle(sent)
    batches = [sent[i : i + 40] for i in range(0, len(sent), 40)]
    for round_ in range(0, len(batches), 6):  # six requests at a time, each in its own transaction
        answers = await asyncio.gather(
            *(deal_client.post(INGEST, json={"deals": b}, headers=op) for b in batches[round_ : round_ + 6])
        )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    held, deals = await buckets_and_deals(stack.database_url, company_id)
    assert {d["deal_id"]: d["report_time"] for d in deals} == {k: v["reportTime"] for k, v in newest.items()}
    assert held == expected_buckets(deals)
    staff = await deal_client.get(
        f"/api/staff/deal/{SUMS}", params={**reg.cc(), "timezone": "Europe/Paris"}, headers=op
    )
    want = [
        (datetime.fromisoformat(r["createDateTime"]), Decimal(repr(r["cumulateAmountWh"])), r["chargeUnitId"], None)
        for r in newest.values()
        if "cumulateAmountWh" in r
    ]
    assert staff.json() == reference(want, "Europe/Paris", None, None)


async def test_the_migration_backfills_the_buckets(stack: Stack) -> None:
    migrations = {e.name: e for e in load_registry()}["deal-service"].migrations
    async with scratch_database(stack.database_url) as url:
        await asyncio.to_thread(upgrade, migrations, url, "0005")
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(
                """INSERT INTO deal.deals (company_id, deal_id, community_code, cluster_code, charge_unit_id,
                       discharge_unit_id, create_date_time, report_time, progress, cumulate_amount_wh, report)
                   SELECT 1 + g % 2, 'b-' || g, 'c', 'k', 'E' || g % 3, CASE WHEN g % 5 > 0 THEN 'E' || g % 4 END,
                          timestamptz '2026-10-25 00:00:00+00' + g * interval '7 minutes', 1, 1,
                          CASE WHEN g % 7 > 0 THEN g / 8.0 END, '{}'
                   FROM generate_series(1, 500) AS g"""
            )
            await asyncio.to_thread(upgrade, migrations, url)
            for company in (1, 2):
                held, deals = await buckets_and_deals(url, company)
                assert held and held == expected_buckets(deals)
            # and the triggers keep them from there on
            await conn.execute(
                "UPDATE deal.deals SET cumulate_amount_wh = coalesce(cumulate_amount_wh, 0) + 1, "
                "create_date_time = create_date_time + interval '1 hour' WHERE deal_id LIKE 'b-1%'"
            )
            await conn.execute("DELETE FROM deal.deals WHERE deal_id LIKE 'b-2%'")
            held, deals = await buckets_and_deals(url, 1)
            assert held == expected_buckets(deals)
        finally:
            await conn.close()
