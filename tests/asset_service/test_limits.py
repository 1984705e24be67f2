"""Period limits (/api/limits): expansion, partial upsert, computed limits, delete, DST days, events."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from asset_helpers import create_asset, iso, mw, mwh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from asset_service.limits.schemas import LimitsPage
from gridcommons.serialization import matches_model
from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import quarter_hours

Q = timedelta(minutes=15)
SOURCES = ["REPORTED", "OPERATIONS", "CUSTOMER", "PV", "AVAILABILITY"]
_companies = itertools.count(3_000_000)
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str], region: str = "DE") -> str:
    body = {
        "code": "lim",
        "name": "Limits",
        "type": "BESS",
        "region": region,
        "delivery_area": "50HZ" if region == "DE" else "PSE",
        "provider": "ENTELIOS",
    }
    return await create_asset(client, headers, body)


async def read(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    asset_ids: list[str],
    start: datetime,
    end: datetime,
    **extra: Any,
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"asset_ids": asset_ids, "from": iso(start), "to": iso(end), "limit": 1000, **extra}
    r = await client.get("/api/limits", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # The JSON PostgreSQL builds is exactly what the documented response model would write.
    assert matches_model(LimitsPage, body)
    return list(body["limits"])


async def patch(client: httpx.AsyncClient, headers: dict[str, str], *entries: dict[str, Any]) -> httpx.Response:
    return await client.patch("/api/limits", json={"limits": list(entries)}, headers=headers)


T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


# -- write + read ------------------------------------------------------------------------


async def test_patch_expands_and_reads_back(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    r = await patch(
        asset_client,
        op,
        {
            "asset_id": asset,
            "start_time": iso(T0),
            "end_time": "2026-06-01T13:00:00+02:00",  # = 11:00Z, offsets are honoured
            "source": "REPORTED",
            "power_charge": mw("-5.50"),
            "power_discharge": mw(4),
            "energy_low": mwh("1.25"),
            "energy_high": mwh("9"),
            "trading_locked": False,
        },
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["rows"] == 4
    assert summary["assets"] == [
        {
            "asset_id": asset,
            "sources": ["REPORTED"],
            "start_time": "2026-06-01T10:00:00Z",
            "end_time": "2026-06-01T11:00:00Z",
            "rows": 4,
            "entries": 1,
        }
    ]
    member = internal_headers(company_id, "member")
    got = await read(asset_client, member, [asset], T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    assert [p["start_time"] for p in got] == [iso(T0 + i * Q) for i in range(4)]
    first = got[0]
    assert first["asset_id"] == asset
    assert first["end_time"] == iso(T0 + Q)
    assert first["delivery_day"] == "2026-06-01"
    assert first["computed_limits"] == {
        "power_charge": mw("-5.5"),
        "power_discharge": mw("4"),
        "energy_low": mwh("1.25"),
        "energy_high": mwh("9"),
        "trading_locked": False,
    }
    [src] = first["sources"]
    assert src["source"] == "REPORTED" and src["trading_locked"] is False
    assert src["power_charge"] == mw("-5.5") and src["energy_high"] == mwh("9")
    assert src["created_at"] == src["updated_at"]
    # [from, to) on start_time
    assert len(await read(asset_client, member, [asset], T0 + Q, T0 + 3 * Q)) == 2


async def test_partial_upsert_rules(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "admin")
    asset = await make_asset(asset_client, op)
    base = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + 2 * Q), "source": "CUSTOMER"}
    assert (await patch(asset_client, op, {**base, "power_charge": mw(-3), "trading_locked": True})).status_code == 200
    before = (await read(asset_client, op, [asset], T0, T0 + Q))[0]["sources"][0]

    # null preserves; a given value overwrites; only some rows of the window change
    r = await patch(asset_client, op, {**base, "end_time": iso(T0 + 3 * Q), "power_discharge": mw(2)})
    assert r.status_code == 200, r.text
    rows = await read(asset_client, op, [asset], T0, T0 + 3 * Q)
    s0 = rows[0]["sources"][0]
    assert s0["power_charge"] == mw("-3") and s0["power_discharge"] == mw("2") and s0["trading_locked"] is True
    assert s0["created_at"] == before["created_at"]
    assert datetime.fromisoformat(s0["updated_at"]) > datetime.fromisoformat(before["updated_at"])
    assert datetime.fromisoformat(s0["created_at"]) < datetime.fromisoformat(s0["updated_at"])
    s2 = rows[2]["sources"][0]  # new row: only what was sent
    assert s2["power_charge"] is None and s2["power_discharge"] == mw("2") and s2["trading_locked"] is None

    # explicit false clears the lock, null keeps it
    await patch(asset_client, op, {**base, "energy_high": mwh(7)})
    assert (await read(asset_client, op, [asset], T0, T0 + Q))[0]["sources"][0]["trading_locked"] is True
    await patch(asset_client, op, {**base, "trading_locked": False})
    s = (await read(asset_client, op, [asset], T0, T0 + Q))[0]["sources"][0]
    assert s["trading_locked"] is False and s["energy_high"] == mwh("7") and s["power_charge"] == mw("-3")


async def test_computed_limits_and_source_filter(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    win = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q)}
    r = await patch(
        asset_client,
        op,
        {**win, "source": "REPORTED", "power_charge": mw(-10), "power_discharge": mw(8), "energy_low": mwh(1)},
        {**win, "source": "OPERATIONS", "power_charge": mw(-4), "power_discharge": mw(9), "energy_high": mwh(6)},
        {**win, "source": "PV", "power_discharge": mw("7.5"), "energy_low": mwh(2), "energy_high": mwh(8)},
        {**win, "source": "CUSTOMER", "trading_locked": True},
    )
    assert r.status_code == 200, r.text
    [period] = await read(asset_client, op, [asset], T0, T0 + Q)
    assert [s["source"] for s in period["sources"]] == ["CUSTOMER", "OPERATIONS", "PV", "REPORTED"]
    assert period["computed_limits"] == {
        "power_charge": mw("-4"),
        "power_discharge": mw("7.5"),
        "energy_low": mwh("2"),
        "energy_high": mwh("6"),
        "trading_locked": True,
    }
    # filter: comma-separated and repeated; computed over the selected sources only
    for sources in ("REPORTED,PV", ["REPORTED", "PV"]):
        [p] = await read(asset_client, op, [asset], T0, T0 + Q, sources=sources)
        assert [s["source"] for s in p["sources"]] == ["PV", "REPORTED"]
        assert p["computed_limits"] == {
            "power_charge": mw("-10"),
            "power_discharge": mw("7.5"),
            "energy_low": mwh("2"),
            "energy_high": mwh("8"),
            "trading_locked": False,
        }
    assert await read(asset_client, op, [asset], T0, T0 + Q, sources="AVAILABILITY") == []


async def test_pagination_groups_and_many_assets(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a, b = await make_asset(asset_client, op), await make_asset(asset_client, op)
    entries = [
        {"asset_id": x, "start_time": iso(T0), "end_time": iso(T0 + 3 * Q), "source": s, "power_charge": mw(-1)}
        for x in (a, b)
        for s in ("REPORTED", "PV")
    ]
    assert (await patch(asset_client, op, *entries)).status_code == 200
    params = {"asset_ids": f"{a},{b}", "from": iso(T0), "to": iso(T0 + 4 * Q), "limit": 2, "offset": 2}
    r = await asset_client.get("/api/limits", params=params, headers=op)
    body = r.json()
    assert body["limit"] == 2 and body["offset"] == 2
    assert [(p["asset_id"], p["start_time"]) for p in body["limits"]] == [(a, iso(T0 + 2 * Q)), (b, iso(T0))]
    assert all(len(p["sources"]) == 2 for p in body["limits"])
    r = await asset_client.get("/api/limits", params={**params, "offset": 6}, headers=op)
    assert r.json()["limits"] == []
    # unknown ids are simply empty
    assert await read(asset_client, op, ["NOPE_1"], T0, T0 + Q) == []


# -- recurrent windows --------------------------------------------------------------------


async def test_recurrent_windows(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    r = await patch(
        asset_client,
        op,
        {
            "asset_id": asset,
            "recurrent": True,
            "start_time": "08:00",
            "end_time": "09:30:00Z",
            "valid_from": "2026-07-01",
            "valid_until": "2026-07-03",
            "source": "OPERATIONS",
            "power_discharge": mw(3),
        },
        # wraps past midnight; recurrent inferred from valid_from/valid_until; date-time -> UTC time of day
        {
            "asset_id": asset,
            "start_time": "2026-01-01T23:00:00+01:00",  # 22:00 UTC
            "end_time": "02:00",
            "valid_from": "2026-07-01",
            "valid_until": "2026-07-02",
            "source": "PV",
            "power_charge": mw(-1),
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3 * 6 + 2 * 16
    [summary] = r.json()["assets"]
    assert summary["start_time"] == "2026-07-01T08:00:00Z" and summary["end_time"] == "2026-07-03T09:30:00Z"
    rows = await read(asset_client, op, [asset], datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 7, 5, tzinfo=UTC))
    ops = [p["start_time"] for p in rows if p["sources"][0]["source"] == "OPERATIONS"]
    expected = [datetime(2026, 7, d, 8, tzinfo=UTC) + i * Q for d in (1, 2, 3) for i in range(6)]
    assert ops == [iso(t) for t in expected]
    pv = [p for p in rows if p["sources"][0]["source"] == "PV"]
    expected = [datetime(2026, 7, d, 22, tzinfo=UTC) + i * Q for d in (1, 2) for i in range(16)]
    assert [p["start_time"] for p in pv] == [iso(t) for t in expected]
    # delivery day in Berlin: 22:00Z is already the next local day
    assert pv[0]["delivery_day"] == "2026-07-02"

    # a whole-day window (00:00-00:00) is 96 quarter hours per UTC day
    whole = {
        "asset_id": asset,
        "recurrent": True,
        "start_time": "00:00",
        "end_time": "00:00",
        "valid_from": "2026-08-01",
        "valid_until": "2026-08-01",
        "source": "AVAILABILITY",
        "trading_locked": True,
    }
    assert (await patch(asset_client, op, whole)).json()["rows"] == 96


async def test_one_year_in_one_request(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    """366 days (the per-entry cap) of a leap year in PL: 35,136 rows, local delivery days."""
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op, "PL")
    start = quarter_hours(date(2028, 1, 1), "PL")[0]
    end = start + timedelta(days=366)
    entry = {"asset_id": asset, "start_time": iso(start), "end_time": iso(end), "source": "AVAILABILITY"}
    r = await patch(asset_client, op, {**entry, "power_discharge": mw(2)})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 366 * 96
    # the last local day of 2028 is full, and starts 23:00Z on 30 December (CET)
    last = await read(asset_client, op, [asset], end - timedelta(days=1), end)
    assert len(last) == 96 and {p["delivery_day"] for p in last} == {"2028-12-31"}
    assert last[0]["start_time"] == "2028-12-30T23:00:00Z"


async def test_concurrent_patches_no_deadlock(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    """Overlapping batches listed in opposite orders: rows are locked in key order, every request succeeds."""
    op = internal_headers(company_id, "operator")
    a, b = await make_asset(asset_client, op), await make_asset(asset_client, op)
    day = {"start_time": iso(T0), "end_time": iso(T0 + timedelta(days=2))}
    batches = []
    for n in range(6):
        entries = [
            {**day, "asset_id": x, "source": s, "power_charge": mw(-n)}
            for x in (a, b)
            for s in ("REPORTED", "CUSTOMER")
        ]
        batches.append(entries if n % 2 else entries[::-1])
    results = await asyncio.gather(*(patch(asset_client, op, *entries) for entries in batches))
    assert [r.status_code for r in results] == [200] * 6
    rows = await read(asset_client, op, [a, b], T0, T0 + timedelta(days=2))
    assert len(rows) == 2 * 192
    # each row holds the value of one of the batches (the last writer for that row)
    assert {s["power_charge"]["amount"] for p in rows for s in p["sources"]} <= {str(-n) for n in range(6)}


# -- DST days -----------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["DE", "PL"])
@pytest.mark.parametrize(("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
async def test_dst_days(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, region: str, day: date, quarters: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op, region)
    local = quarter_hours(day, region)
    start, end = local[0], local[-1] + Q
    # one hour either side, so that the neighbouring days show up too
    r = await patch(
        asset_client,
        op,
        {
            "asset_id": asset,
            "start_time": iso(start - timedelta(hours=1)),
            "end_time": iso(end + timedelta(hours=1)),
            "source": "REPORTED",
            "energy_high": mwh(5),
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == quarters + 8
    rows = await read(asset_client, op, [asset], start - timedelta(hours=1), end + timedelta(hours=1))
    by_day: dict[str, list[str]] = {}
    for p in rows:
        by_day.setdefault(p["delivery_day"], []).append(p["start_time"])
    assert len(by_day[day.isoformat()]) == quarters
    assert by_day[day.isoformat()] == [iso(t) for t in local]
    assert len(by_day[(day - timedelta(days=1)).isoformat()]) == 4
    assert len(by_day[(day + timedelta(days=1)).isoformat()]) == 4


# -- delete ---------------------------------------------------------------------------------


async def test_delete_clears_keeps_lock_and_removes_empty_rows(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    win = {"asset_id": asset, "start_time": iso(T0), "source": "CUSTOMER"}
    await patch(asset_client, op, {**win, "end_time": iso(T0 + 4 * Q), "power_charge": mw(-2), "energy_low": mwh(1)})
    await patch(asset_client, op, {**win, "end_time": iso(T0 + 2 * Q), "trading_locked": True})
    await patch(asset_client, op, {**win, "source": "PV", "end_time": iso(T0 + 4 * Q), "power_charge": mw(-1)})

    params = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + 3 * Q), "source": "CUSTOMER"}
    r = await asset_client.delete("/api/limits", params=params, headers=op)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "asset_id": asset,
        "source": "CUSTOMER",
        "start_time": iso(T0),
        "end_time": iso(T0 + 3 * Q),
        "cleared": 2,
        "removed": 1,
    }
    rows = await read(asset_client, op, [asset], T0, T0 + 4 * Q)
    customer = {p["start_time"]: s for p in rows for s in p["sources"] if s["source"] == "CUSTOMER"}
    assert sorted(customer) == [iso(T0), iso(T0 + Q), iso(T0 + 3 * Q)]  # T0+2Q was left empty: removed
    for t in (T0, T0 + Q):
        s = customer[iso(t)]
        assert s["trading_locked"] is True
        assert [s[k] for k in ("power_charge", "power_discharge", "energy_low", "energy_high")] == [None] * 4
    assert customer[iso(T0 + 3 * Q)]["power_charge"] == mw("-2")  # outside [start, end)
    assert all(any(s["source"] == "PV" for s in p["sources"]) for p in rows)  # other sources untouched
    assert rows[0]["computed_limits"]["power_charge"] == mw("-1")

    # idempotent; unknown asset 404; bad window 422
    again = await asset_client.delete("/api/limits", params=params, headers=op)
    assert again.json()["cleared"] == 2 and again.json()["removed"] == 0
    assert (
        await asset_client.delete("/api/limits", params={**params, "asset_id": "X_1"}, headers=op)
    ).status_code == 404
    for bad in (
        {**params, "end_time": iso(T0)},
        {**params, "source": "NOPE"},
        {**params, "start_time": "2026-06-01T10:00:00"},
        {k: v for k, v in params.items() if k != "source"},
    ):
        assert (await asset_client.delete("/api/limits", params=bad, headers=op)).status_code == 422, bad


# -- bad input -----------------------------------------------------------------------------


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    ok = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)}
    rec = {**ok, "recurrent": True, "start_time": "08:00", "end_time": "10:00"}
    cases: list[tuple[Any, str]] = [
        ({"limits": []}, "at least 1"),
        ({"limits": [ok] * 1001}, "at most 1000"),
        ({}, "missing"),
        ({"limits": [ok], "extra": 1}, "Extra"),
        ({"limits": [{**ok, "end_time": iso(T0)}]}, "end_time must be after start_time"),
        ({"limits": [{**ok, "end_time": iso(T0 - Q)}]}, "end_time must be after start_time"),
        ({"limits": [{**ok, "start_time": "2026-06-01T10:05:00Z"}]}, "quarter hour"),
        ({"limits": [{**ok, "end_time": "2026-06-01T10:15:30Z"}]}, "quarter hour"),
        ({"limits": [{**ok, "start_time": "2026-06-01T10:00:00"}]}, "timezone"),
        ({"limits": [{**ok, "start_time": 1780000000}]}, "date-time"),
        ({"limits": [{**ok, "start_time": "0001-01-01T00:00:00+16:45"}]}, "[1900-01-01, 9999-01-01)"),
        ({"limits": [{**ok, "end_time": "9999-12-31T23:45:00Z"}]}, "[1900-01-01, 9999-01-01)"),
        ({"limits": [{**ok, "end_time": iso(T0 + timedelta(days=367))}]}, "366 days"),
        ({"limits": [{**ok, "source": "GRID"}]}, "REPORTED"),
        ({"limits": [{**ok, "power_charge": {"amount": 1, "unit": "kW"}}]}, "unit must be"),
        ({"limits": [{**ok, "energy_low": mw(1)}]}, "unit must be one of MWh"),
        ({"limits": [{**ok, "power_charge": {"amount": "abc", "unit": "MW"}}]}, "decimal"),
        ({"limits": [{**ok, "power_charge": mw("1" * 21)}]}, "integer digits"),
        ({"limits": [{**ok, "power_charge": None}]}, "at least one of"),
        ({"limits": [{**ok, "energy_low": mwh(5), "energy_high": mwh(4)}]}, "energy_low is above energy_high"),
        ({"limits": [{**ok, "delivery_day": "2026-06-01"}]}, "Extra"),
        ({"limits": [{**ok, "trading_locked": "maybe"}]}, "boolean"),
        ({"limits": [{**ok, "start_time": "08:00", "end_time": "09:00"}]}, "date-times with offset"),
        ({"limits": [{**rec}]}, "needs valid_from and valid_until"),
        ({"limits": [{**rec, "valid_from": "2026-01-02", "valid_until": "2026-01-01"}]}, "before valid_from"),
        ({"limits": [{**rec, "valid_from": "2026-01-01", "valid_until": "2027-01-02"}]}, "366 days"),
        (
            {"limits": [{**rec, "start_time": "08:10", "valid_from": "2026-01-01", "valid_until": "2026-01-01"}]},
            "quarter",
        ),
        (
            {"limits": [{**rec, "start_time": "08:00+02:00", "valid_from": "2026-01-01", "valid_until": "2026-01-02"}]},
            "UTC",
        ),
        (
            {"limits": [{**ok, "recurrent": False, "valid_from": "2026-01-01", "valid_until": "2026-01-02"}]},
            "recurrent",
        ),
        (
            {"limits": [{**rec, "end_time": "02:00", "valid_from": "9999-12-30", "valid_until": "9999-12-31"}]},
            "9999-12-30",
        ),
        # duplicates / overlaps inside one batch, named by index
        ({"limits": [ok, {**ok, "power_charge": mw(2)}]}, "limits[1] overlaps limits[0]"),
        (
            {
                "limits": [
                    ok,
                    {**ok, "start_time": iso(T0 - Q), "end_time": iso(T0 + 2 * Q)},
                    {**ok, "source": "CUSTOMER"},
                ]
            },
            "limits[1] overlaps limits[0]",
        ),
        (
            {
                "limits": [
                    {**rec, "valid_from": "2026-06-01", "valid_until": "2026-06-03"},
                    {**ok, "start_time": "2026-06-02T09:45:00Z", "end_time": "2026-06-02T10:15:00Z"},
                ]
            },
            "limits[1] overlaps limits[0]",
        ),
        (
            {"limits": [{**ok, "end_time": iso(T0 + timedelta(days=366))}] * 1},
            "",
        ),
    ]
    cases.pop()  # (366 days exactly is allowed; checked below)
    for body, needle in cases:
        r = await asset_client.patch("/api/limits", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, list) and {"loc", "msg", "type"} <= detail[0].keys(), r.text
        assert needle in r.text, (needle, r.text)
    # field errors carry the item's index in loc
    r = await asset_client.patch("/api/limits", json={"limits": [ok, {**ok, "source": "GRID"}]}, headers=op)
    assert r.json()["detail"][0]["loc"][:3] == ["body", "limits", 1]
    # total expansion cap: 6 entries of 366 days = 210,816 rows > 200,000
    big = [{**ok, "source": s, "end_time": iso(T0 + timedelta(days=366))} for s in SOURCES] + [
        {**ok, "asset_id": "OTHER", "end_time": iso(T0 + timedelta(days=366))}
    ]
    r = await asset_client.patch("/api/limits", json={"limits": big}, headers=op)
    assert r.status_code == 422 and "at most 200000" in r.text
    # nothing of the above was written
    assert await read(asset_client, op, [asset], T0 - timedelta(days=1), T0 + timedelta(days=400)) == []

    # GET bounds
    base = {"asset_ids": asset, "from": iso(T0), "to": iso(T0 + Q)}
    for params in (
        {**base, "limit": 0},
        {**base, "limit": 1001},
        {**base, "offset": -1},
        {k: v for k, v in base.items() if k != "asset_ids"},
        {**base, "asset_ids": ""},
        {**base, "asset_ids": ","},
        {k: v for k, v in base.items() if k != "from"},
        {k: v for k, v in base.items() if k != "to"},
        {**base, "to": iso(T0)},
        {**base, "to": iso(T0 - Q)},
        {**base, "from": "yesterday"},
        {**base, "from": "2026-06-01T10:00:00"},
        {**base, "from": "0001-01-01T00:00:00+05:00"},
        {**base, "sources": "PV,GRID"},
        {**base, "asset_ids": ",".join(f"A{i}" for i in range(1001))},
    ):
        r = await asset_client.get("/api/limits", params=params, headers=op)
        assert r.status_code == 422, (params, r.text)
        assert isinstance(r.json()["detail"], list)


async def test_unknown_assets_404_nothing_written(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    ok = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)}
    r = await patch(asset_client, op, ok, {**ok, "asset_id": "DE_50HZ_NOPE_1"}, {**ok, "asset_id": "DE_50HZ_NOPE_2"})
    assert r.status_code == 404
    assert r.json() == {"detail": "Unknown asset ids: DE_50HZ_NOPE_1, DE_50HZ_NOPE_2"}
    assert await read(asset_client, op, [asset], T0, T0 + Q) == []


# -- tenants and roles -----------------------------------------------------------------------


async def test_tenant_isolation(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    a_op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, a_op)
    entry = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)}
    assert (await patch(asset_client, a_op, entry)).status_code == 200

    other = company_id + 700_000
    b_op = internal_headers(other, "admin")
    r = await patch(asset_client, b_op, {**entry, "power_charge": mw(99)})
    assert r.status_code == 404 and asset in r.json()["detail"]
    assert await read(asset_client, b_op, [asset], T0, T0 + Q) == []
    params = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV"}
    assert (await asset_client.delete("/api/limits", params=params, headers=b_op)).status_code == 404
    # A's data is untouched
    [p] = await read(asset_client, a_op, [asset], T0, T0 + Q)
    assert p["sources"][0]["power_charge"] == mw("1")

    # B has an asset with the same id: still only B's rows
    b_asset = await make_asset(asset_client, b_op)
    assert b_asset == asset
    assert (await patch(asset_client, b_op, {**entry, "power_charge": mw(7)})).status_code == 200
    assert (await read(asset_client, a_op, [asset], T0, T0 + Q))[0]["sources"][0]["power_charge"] == mw("1")
    assert (await read(asset_client, b_op, [asset], T0, T0 + Q))[0]["sources"][0]["power_charge"] == mw("7")


async def test_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    entry = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)}
    delete = {"asset_id": asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV"}
    get = {"asset_ids": asset, "from": iso(T0), "to": iso(T0 + Q)}
    for role in ("member", "device"):
        h = internal_headers(company_id, role)
        assert (await patch(asset_client, h, entry)).status_code == 403
        assert (await asset_client.delete("/api/limits", params=delete, headers=h)).status_code == 403
    assert (
        await asset_client.get("/api/limits", params=get, headers=internal_headers(company_id, "device"))
    ).status_code == 403
    assert (await asset_client.get("/api/limits", params=get)).status_code == 401
    assert (await patch(asset_client, {}, entry)).status_code == 401
    for role in ("admin", "operator", "member"):
        r = await asset_client.get("/api/limits", params=get, headers=internal_headers(company_id, role))
        assert r.status_code == 200
    assert (
        await asset_client.delete("/api/limits", params=delete, headers=internal_headers(company_id, "admin"))
    ).status_code == 200


# -- events ------------------------------------------------------------------------------------


async def test_events(
    asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int, migrated: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a, b = await make_asset(asset_client, op), await make_asset(asset_client, op)
    entries = [
        {"asset_id": a, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)},
        {
            "asset_id": a,
            "start_time": iso(T0 + 4 * Q),
            "end_time": iso(T0 + 6 * Q),
            "source": "REPORTED",
            "trading_locked": True,
        },
        {"asset_id": b, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV", "power_charge": mw(1)},
    ]
    assert (await patch(asset_client, op, *entries)).status_code == 200
    params = {"asset_id": a, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "PV"}
    assert (await asset_client.delete("/api/limits", params=params, headers=op)).status_code == 200

    async with asset_app.state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT key, topic, payload FROM asset.outbox WHERE topic = 'assets.limits.v1' "
                    "AND payload->>'companyid' = :c ORDER BY seq"
                ),
                {"c": str(company_id)},
            )
        ).all()
    assert [(r.key, r.payload["type"]) for r in rows] == [
        (a, "org.gridcommons.assets.limits.updated"),
        (b, "org.gridcommons.assets.limits.updated"),
        (a, "org.gridcommons.assets.limits.cleared"),
    ]
    assert rows[0].payload["subject"] == a
    assert rows[0].payload["data"] == {
        "asset_id": a,
        "sources": ["PV", "REPORTED"],
        "start_time": iso(T0),
        "end_time": iso(T0 + 6 * Q),
        "rows": 3,
        "entries": 2,
    }
    assert rows[2].payload["data"]["removed"] == 1

    # ... and the relay delivers them to Kafka, keyed by asset id
    consumer = AIOKafkaConsumer(
        "assets.limits.v1",
        bootstrap_servers=migrated.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    try:
        got: list[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < 3 and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got.extend(r for r in records if orjson.loads(r.value)["companyid"] == str(company_id))
    finally:
        await consumer.stop()
    assert sorted((r.key.decode(), orjson.loads(r.value)["type"].rsplit(".", 1)[1]) for r in got) == sorted(
        [(a, "updated"), (b, "updated"), (a, "cleared")]
    )


# -- property-based ------------------------------------------------------------------------------

amounts = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
source_values = st.fixed_dictionaries(
    {
        "power_charge": maybe(amounts),
        "power_discharge": maybe(amounts),
        "energy_low": maybe(amounts.map(abs)),
        "energy_high": maybe(amounts.map(abs)),
        "trading_locked": maybe(st.booleans()),
    }
).filter(lambda v: any(x is not None for x in v.values()))


def reference_computed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Straight from the seed: power_charge max, power_discharge min, energy_low max, energy_high min, lock any."""

    def agg(key: str, fn: Callable[..., Decimal]) -> Decimal | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return fn(vals) if vals else None

    return {
        "power_charge": agg("power_charge", max),
        "power_discharge": agg("power_discharge", min),
        "energy_low": agg("energy_low", max),
        "energy_high": agg("energy_high", min),
        "trading_locked": any(r["trading_locked"] is True for r in rows),
    }


def to_wire(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if v is None:
            out[k] = None
        elif k.startswith("power"):
            out[k] = mw(str(v))
        elif k.startswith("energy"):
            out[k] = mwh(str(v))
        else:
            out[k] = v
    return out


def from_wire(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (Decimal(v["amount"]) if isinstance(v, dict) else v)
        for k, v in values.items()
        if k in ("power_charge", "power_discharge", "energy_low", "energy_high", "trading_locked")
    }


@PROPERTY
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(SOURCES), source_values),
        min_size=1,
        max_size=12,
        unique_by=lambda t: (t[0], t[1]),
    )
)
async def test_property_computed_limits(asset_client: httpx.AsyncClient, internal_headers, rows) -> None:
    company = next(_companies)
    op = internal_headers(company, "operator")
    asset = await make_asset(asset_client, op)
    entries = []
    for slot, source, values in rows:
        if values["energy_low"] is not None and values["energy_high"] is not None:
            values = {**values, "energy_high": max(values["energy_low"], values["energy_high"])}
        start = T0 + slot * Q
        entries.append(
            {
                "asset_id": asset,
                "start_time": iso(start),
                "end_time": iso(start + Q),
                "source": source,
                **to_wire(values),
            }
        )
    r = await patch(asset_client, op, *entries)
    assert r.status_code == 200, r.text
    got = await read(asset_client, op, [asset], T0, T0 + 4 * Q)
    expected: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        expected.setdefault(e["start_time"], []).append(from_wire(e))
    assert [p["start_time"] for p in got] == sorted(expected)
    for p in got:
        want = reference_computed(expected[p["start_time"]])
        assert from_wire(p["computed_limits"]) == want
        mine = sorted((e for e in entries if e["start_time"] == p["start_time"]), key=lambda e: e["source"])
        assert [s["source"] for s in p["sources"]] == [e["source"] for e in mine]
        assert [from_wire(s) for s in p["sources"]] == [from_wire(e) for e in mine]


ops = st.one_of(
    st.tuples(st.just("patch"), st.integers(0, 3), st.integers(1, 3), st.sampled_from(SOURCES[:2]), source_values),
    st.tuples(st.just("delete"), st.integers(0, 3), st.integers(1, 3), st.sampled_from(SOURCES[:2]), st.none()),
)


@PROPERTY
@given(st.lists(ops, min_size=1, max_size=8))
async def test_property_partial_upsert_sequence(asset_client: httpx.AsyncClient, internal_headers, sequence) -> None:
    company = next(_companies)
    op = internal_headers(company, "operator")
    asset = await make_asset(asset_client, op)
    model: dict[tuple[int, str], dict[str, Any]] = {}  # (slot, source) -> stored values
    constraint_keys = ("power_charge", "power_discharge", "energy_low", "energy_high")
    for kind, first, length, source, values in sequence:
        slots = range(first, min(first + length, 4))
        start, end = T0 + first * Q, T0 + slots[-1] * Q + Q
        if kind == "patch":
            if values["energy_low"] is not None and values["energy_high"] is not None:
                values = {**values, "energy_high": max(values["energy_low"], values["energy_high"])}
            entry = {
                "asset_id": asset,
                "start_time": iso(start),
                "end_time": iso(end),
                "source": source,
                **to_wire(values),
            }
            assert (await patch(asset_client, op, entry)).status_code == 200
            for s in slots:
                row = model.setdefault((s, source), dict.fromkeys((*constraint_keys, "trading_locked")))
                for k, v in values.items():
                    if v is not None:
                        row[k] = v
        else:
            params = {"asset_id": asset, "start_time": iso(start), "end_time": iso(end), "source": source}
            assert (await asset_client.delete("/api/limits", params=params, headers=op)).status_code == 200
            for s in slots:
                if (s, source) in model:
                    row = model[(s, source)]
                    if row["trading_locked"] is True:
                        row.update(dict.fromkeys(constraint_keys))
                    else:
                        del model[(s, source)]
    got = await read(asset_client, op, [asset], T0, T0 + 4 * Q)
    actual = {
        (int((datetime.fromisoformat(p["start_time"]) - T0) / Q), s["source"]): from_wire(s)
        for p in got
        for s in p["sources"]
    }
    assert actual == model
