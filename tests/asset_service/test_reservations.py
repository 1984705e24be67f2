"""Reservations (/api/reservations): 1..1000-item upsert by (asset_id, start_time, market, source), filtered reads."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from asset_helpers import create_asset, iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcommons.db import asyncpg_dsn
from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import delivery_day_bounds, quarter_hours

_codes = itertools.count(1)
Q = timedelta(minutes=15)
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
SOURCES = ["OPTIMISATION", "EXTERNAL", "DAA_SWAP", "MANUAL"]


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str], region: str = "DE") -> str:
    body = {
        "code": f"rs{next(_codes)}",
        "name": "Reservation battery",
        "type": "BESS",
        "region": region,
        "delivery_area": "TNBW" if region == "DE" else "PSE",
        "provider": "EBX",
    }
    return await create_asset(client, headers, body)


def item(
    asset_id: str,
    start: datetime,
    market: str = "DA",
    source: str = "OPTIMISATION",
    power: object = "1.5",
    change: object = "-0.375",
    low: object = 0,
    high: object = "0.5",
) -> dict:
    return {
        "asset_id": asset_id,
        "start_time": iso(start),
        "end_time": iso(start + Q),
        "market": market,
        "source": source,
        "power": {"amount": power, "unit": "MW"},
        "energy_change": {"amount": change, "unit": "MWh"},
        "energy_buffer_low": {"amount": low, "unit": "MWh"},
        "energy_buffer_high": {"amount": high, "unit": "MWh"},
    }


async def test_upsert_and_read(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op)
    body = {
        "reservations": [
            item(b, T0, "IDC", "EXTERNAL", power=-2),
            item(a, T0, "IDC", "OPTIMISATION"),
            item(a, T0, "DA", "OPTIMISATION", power="-0.1", change=0.025, low=1, high=2),
            item(a, T0, "DA", "DAA_SWAP"),
            item(a, T0 + Q, "DA", "MANUAL"),
        ]
    }
    r = await asset_client.post("/api/reservations", json=body, headers=op)
    assert r.status_code == 200, r.text
    rows = r.json()["reservations"]
    # ordered like the read endpoint: (asset_id, start_time, market, source)
    assert [(x["asset_id"], x["start_time"][11:16], x["market"], x["source"]) for x in rows] == [
        (a, "10:00", "DA", "DAA_SWAP"),
        (a, "10:00", "DA", "OPTIMISATION"),
        (a, "10:00", "IDC", "OPTIMISATION"),
        (a, "10:15", "DA", "MANUAL"),
        (b, "10:00", "IDC", "EXTERNAL"),
    ]
    # the response has exactly the documented shape
    from asset_service.reservations.schemas import ReservationOut, UpsertReservationsResponse

    UpsertReservationsResponse.model_validate(r.json())
    assert all(list(x) == list(ReservationOut.model_fields) for x in rows)
    da_opt = rows[1]
    assert da_opt["power"] == {"amount": "-0.1", "unit": "MW"}
    assert da_opt["energy_change"] == {"amount": "0.025", "unit": "MWh"}
    assert da_opt["energy_buffer_low"] == {"amount": "1", "unit": "MWh"}
    assert da_opt["energy_buffer_high"] == {"amount": "2", "unit": "MWh"}
    assert da_opt["delivery_day"] == "2026-06-01" and da_opt["end_time"] == "2026-06-01T10:15:00Z"
    assert rows[4]["power"]["amount"] == "-2"

    member = internal_headers(company_id, "member")
    base = {"asset_ids": f"{a},{b}", "from": iso(T0), "to": iso(T0 + 2 * Q)}
    got = await asset_client.get("/api/reservations", params=base, headers=member)
    assert got.status_code == 200, got.text
    assert got.json() == {"limit": 50, "offset": 0, "reservations": rows}

    async def keys(params: object) -> list[tuple[str, str, str, str]]:
        res = await asset_client.get("/api/reservations", params=params, headers=member)
        assert res.status_code == 200, res.text
        return [(x["asset_id"], x["start_time"][11:16], x["market"], x["source"]) for x in res.json()["reservations"]]

    assert await keys({**base, "markets": "IDC"}) == [
        (a, "10:00", "IDC", "OPTIMISATION"),
        (b, "10:00", "IDC", "EXTERNAL"),
    ]
    assert await keys({**base, "sources": "DAA_SWAP,MANUAL"}) == [
        (a, "10:00", "DA", "DAA_SWAP"),
        (a, "10:15", "DA", "MANUAL"),
    ]
    assert await keys([*base.items(), ("sources", "OPTIMISATION"), ("sources", "EXTERNAL"), ("markets", "IDC")]) == [
        (a, "10:00", "IDC", "OPTIMISATION"),
        (b, "10:00", "IDC", "EXTERNAL"),
    ]
    assert await keys({**base, "markets": "FCR"}) == []
    assert await keys({**base, "to": iso(T0 + Q)}) == [k for k in await keys(base) if k[1] == "10:00"]
    assert await keys({**base, "limit": 2, "offset": 3}) == [
        (a, "10:15", "DA", "MANUAL"),
        (b, "10:00", "IDC", "EXTERNAL"),
    ]


async def test_plain_upsert(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    first = await asset_client.post(
        "/api/reservations", json={"reservations": [item(a, T0, "DA"), item(a, T0, "IDC")]}, headers=op
    )
    assert first.status_code == 200
    old_da, old_idc = first.json()["reservations"]
    again = await asset_client.post(
        "/api/reservations", json={"reservations": [item(a, T0, "DA", power=7, change=1, low=2, high=3)]}, headers=op
    )
    [new_da] = again.json()["reservations"]
    assert new_da["created_at"] == old_da["created_at"] and new_da["updated_at"] > old_da["updated_at"]
    assert [new_da[k]["amount"] for k in ("power", "energy_change", "energy_buffer_low", "energy_buffer_high")] == [
        "7",
        "1",
        "2",
        "3",
    ]
    # the IDC row of the same (period, source) is not implicitly deleted
    got = await asset_client.get(
        "/api/reservations", params={"asset_ids": a, "from": iso(T0), "to": iso(T0 + Q)}, headers=op
    )
    assert got.json()["reservations"] == [new_da, old_idc]


@pytest.mark.parametrize(
    ("region", "day", "quarters"),
    [
        ("DE", date(2026, 3, 29), 92),
        ("DE", date(2026, 10, 25), 100),
        ("PL", date(2026, 3, 29), 92),
        ("PL", date(2026, 10, 25), 100),
    ],
)
async def test_dst_delivery_days(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, region: str, day: date, quarters: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op, region)
    starts = quarter_hours(day, region)
    periods = [starts[0] - Q, *starts, starts[-1] + Q]
    r = await asset_client.post("/api/reservations", json={"reservations": [item(a, s) for s in periods]}, headers=op)
    assert r.status_code == 200, r.text
    days = [x["delivery_day"] for x in r.json()["reservations"]]
    assert days == [str(day - timedelta(days=1)), *[str(day)] * quarters, str(day + timedelta(days=1))]
    lo, hi = delivery_day_bounds(day, region)
    got = await asset_client.get(
        "/api/reservations", params={"asset_ids": a, "from": iso(lo), "to": iso(hi), "limit": 1000}, headers=op
    )
    assert [x["start_time"] for x in got.json()["reservations"]] == [iso(s) for s in starts]


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    good = item(a, T0)
    other = item(a, T0 + Q)
    bad_items = {
        "unaligned": {**good, "start_time": "2026-06-01T10:07:00Z", "end_time": "2026-06-01T10:22:00Z"},
        "an hour": {**good, "end_time": "2026-06-01T11:00:00Z"},
        "end before start": {**good, "end_time": "2026-06-01T09:45:00Z"},
        "naive": {**good, "start_time": "2026-06-01T10:00:00"},
        "power in MWh": {**good, "power": {"amount": 1, "unit": "MWh"}},
        "energy in MW": {**good, "energy_change": {"amount": 1, "unit": "MW"}},
        "buffer in kWh": {**good, "energy_buffer_low": {"amount": 1, "unit": "kWh"}},
        "negative buffer": {**good, "energy_buffer_high": {"amount": "-0.1", "unit": "MWh"}},
        "unknown source": {**good, "source": "ORACLE"},
        "lower-case source": {**good, "source": "optimisation"},
        "empty market": {**good, "market": ""},
        "comma market": {**good, "market": "DA,IDC"},
        "long market": {**good, "market": "M" * 65},
        "missing power": {k: v for k, v in good.items() if k != "power"},
        "null power": {**good, "power": None},
        "delivery_day": {**good, "delivery_day": "2026-06-01"},
        "extra": {**good, "note": "x"},
        "bool amount": {**good, "power": {"amount": True, "unit": "MW"}},
        "huge": {**good, "power": {"amount": "1e25", "unit": "MW"}},
    }
    for name, bad in bad_items.items():
        r = await asset_client.post("/api/reservations", json={"reservations": [other, bad]}, headers=op)
        assert r.status_code == 422, (name, r.text)
        assert any(e["loc"][:3] == ["body", "reservations", 1] for e in r.json()["detail"]), (name, r.text)

    for body in (
        {"reservations": []},
        {"reservations": None},
        {"reservations": [item(a, T0 + i * Q) for i in range(1001)]},
    ):
        assert (await asset_client.post("/api/reservations", json=body, headers=op)).status_code == 422
    dup = await asset_client.post(
        "/api/reservations",
        json={"reservations": [good, item(a, T0, "IDC"), other, item(a, T0, power=3), item(a, T0 + Q)]},
        headers=op,
    )
    assert dup.status_code == 422
    msg = dup.json()["detail"][0]["msg"]
    assert "items 0, 3" in msg and "items 2, 4" in msg
    # offsets are converted: 15:30+05:30 is 10:00Z, a quarter-aligned period in UTC
    shifted = {**good, "start_time": "2026-06-01T15:30:00+05:30", "end_time": "2026-06-01T17:45:00+07:30"}
    r = await asset_client.post("/api/reservations", json={"reservations": [shifted]}, headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["reservations"][0]["start_time"] == "2026-06-01T10:00:00Z"
    assert r.json()["reservations"][0]["end_time"] == "2026-06-01T10:15:00Z"
    # same period, same market, different sources is not a duplicate
    ok = await asset_client.post(
        "/api/reservations", json={"reservations": [item(a, T0, source=s) for s in SOURCES]}, headers=op
    )
    assert ok.status_code == 200, ok.text


async def test_query_bounds(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    member = internal_headers(company_id, "member")
    ok = {"asset_ids": "X", "from": iso(T0), "to": iso(T0 + Q)}
    assert (await asset_client.get("/api/reservations", params=ok, headers=member)).status_code == 200
    for params in (
        {**ok, "limit": 0},
        {**ok, "limit": 1001},
        {**ok, "offset": -1},
        {k: v for k, v in ok.items() if k != "asset_ids"},
        {**ok, "asset_ids": " , "},
        {k: v for k, v in ok.items() if k != "from"},
        {k: v for k, v in ok.items() if k != "to"},
        {**ok, "to": iso(T0 - Q)},
        {**ok, "sources": "OPTIMISATION,ORACLE"},
        {**ok, "markets": "D\x00A"},
        {**ok, "to": "9999-12-31T23:00:00-05:00"},
    ):
        r = await asset_client.get("/api/reservations", params=params, headers=member)
        assert r.status_code == 422, (params, r.text)
    r = await asset_client.get("/api/reservations", params={**ok, "sources": "NOPE"}, headers=member)
    assert "NOPE" in r.json()["detail"][0]["msg"]


async def test_unknown_assets_404_nothing_written(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    r = await asset_client.post(
        "/api/reservations", json={"reservations": [item(a, T0), item("GHOST_2", T0), item("GHOST_1", T0)]}, headers=op
    )
    assert r.status_code == 404
    assert r.json() == {"detail": "Unknown asset ids: GHOST_1, GHOST_2"}
    got = await asset_client.get(
        "/api/reservations", params={"asset_ids": a, "from": iso(T0), "to": iso(T0 + Q)}, headers=op
    )
    assert got.json()["reservations"] == []


async def test_tenant_isolation_and_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    assert (
        await asset_client.post("/api/reservations", json={"reservations": [item(a, T0)]}, headers=op)
    ).status_code == 200
    other = internal_headers(company_id + 800_000, "operator")
    r = await asset_client.post("/api/reservations", json={"reservations": [item(a, T0, power=9)]}, headers=other)
    assert r.status_code == 404
    params = {"asset_ids": a, "from": iso(T0), "to": iso(T0 + Q)}
    assert (await asset_client.get("/api/reservations", params=params, headers=other)).json()["reservations"] == []
    mine = (await asset_client.get("/api/reservations", params=params, headers=op)).json()["reservations"]
    assert [x["power"]["amount"] for x in mine] == ["1.5"]

    for role in ("member", "device"):
        r = await asset_client.post(
            "/api/reservations", json={"reservations": [item(a, T0)]}, headers=internal_headers(company_id, role)
        )
        assert r.status_code == 403
    assert (
        await asset_client.get("/api/reservations", params=params, headers=internal_headers(company_id, "device"))
    ).status_code == 403
    assert (await asset_client.get("/api/reservations", params=params)).status_code == 401


async def test_full_batch_and_events(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    assets = [await make_asset(asset_client, op) for _ in range(4)]
    items = [item(assets[i % 4], T0 + (i // 4) * Q, power=str(i)) for i in range(1000)]
    r = await asset_client.post("/api/reservations", json={"reservations": items}, headers=op)
    assert r.status_code == 200, r.text
    assert len(r.json()["reservations"]) == 1000
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        rows = await conn.fetch(
            "SELECT key, payload FROM asset.outbox WHERE topic = 'assets.reservation.v1' AND payload->>'companyid' = $1",
            str(company_id),
        )
    finally:
        await conn.close()
    events = {row["key"]: json.loads(row["payload"]) for row in rows}
    assert sorted(events) == sorted(assets)
    for asset_id, event in events.items():
        assert event["type"] == "org.gridcommons.assets.reservation.upserted"
        assert event["data"]["asset_id"] == asset_id
        powers = [Decimal(x["power"]["amount"]) for x in event["data"]["reservations"]]
        idx = assets.index(asset_id)
        assert powers == [Decimal(i) for i in range(idx, 1000, 4)]


# ---- property: the filtered, ordered, paginated read equals a reference over the written rows ----

MARKETS = ["DA", "IDA1", "IDC", "FCR"]


def _cases() -> list[
    tuple[list[tuple[int, int, str, str, int]], list[str] | None, list[str] | None, int, int, int, int]
]:
    out = []
    row = st.tuples(
        st.integers(0, 2), st.integers(0, 7), st.sampled_from(MARKETS), st.sampled_from(SOURCES), st.integers(-50, 50)
    )

    @settings(max_examples=40, database=None, suppress_health_check=list(HealthCheck))
    @given(
        rows=st.lists(row, min_size=1, max_size=40, unique_by=lambda r: r[:4]),
        markets=st.none() | st.lists(st.sampled_from(MARKETS), min_size=1, max_size=3, unique=True),
        sources=st.none() | st.lists(st.sampled_from(SOURCES), min_size=1, max_size=3, unique=True),
        lo=st.integers(0, 7),
        width=st.integers(1, 8),
        limit=st.integers(1, 20),
        offset=st.integers(0, 30),
    )
    def collect(rows, markets, sources, lo, width, limit, offset) -> None:  # type: ignore[no-untyped-def]
        out.append((rows, markets, sources, lo, width, limit, offset))

    collect()
    return out


async def test_property_reads_match_reference(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    cases = _cases()
    for n, (rows, markets, sources, lo, width, limit, offset) in enumerate(cases):
        op = internal_headers(company_id * 100 + n, "operator")
        assets = [await make_asset(asset_client, op) for _ in range(3)]
        body = [item(assets[a], T0 + p * Q, m, s, power=v) for a, p, m, s, v in rows]
        r = await asset_client.post("/api/reservations", json={"reservations": body}, headers=op)
        assert r.status_code == 200, r.text
        params: list[tuple[str, str | int]] = [
            ("asset_ids", ",".join(assets)),
            ("from", iso(T0 + lo * Q)),
            ("to", iso(T0 + (lo + width) * Q)),
            ("limit", limit),
            ("offset", offset),
        ]
        params += [("markets", m) for m in markets or []]
        if sources:
            params.append(("sources", ",".join(sources)))
        got = await asset_client.get("/api/reservations", params=params, headers=op)
        assert got.status_code == 200, got.text
        actual = [
            (x["asset_id"], x["start_time"], x["market"], x["source"], Decimal(x["power"]["amount"]))
            for x in got.json()["reservations"]
        ]
        expected = sorted(
            (assets[a], iso(T0 + p * Q), m, s, Decimal(v))
            for a, p, m, s, v in rows
            if lo <= p < lo + width and (not markets or m in markets) and (not sources or s in sources)
        )[offset : offset + limit]
        assert actual == expected, (rows, markets, sources, lo, width, limit, offset)
