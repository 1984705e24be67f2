"""Forecasts (/api/forecasts): batch upsert by (asset_id, start_time), paginated reads, local delivery days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from asset_helpers import create_asset, iso

from gridcommons.db import asyncpg_dsn
from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import delivery_day_bounds, quarter_hours

_codes = itertools.count(1)
Q = timedelta(minutes=15)


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str], region: str = "DE") -> str:
    body = {
        "code": f"fc{next(_codes)}",
        "name": "Forecast park",
        "type": "PV",
        "region": region,
        "delivery_area": "50HZ" if region == "DE" else "PSE",
        "provider": "ENTELIOS",
    }
    return await create_asset(client, headers, body)


def item(asset_id: str, start: datetime, gen: object = "1.5", cons: object = 0, fee: object = None) -> dict:
    out = {
        "asset_id": asset_id,
        "start_time": iso(start),
        "end_time": iso(start + Q),
        "generation": {"amount": gen, "unit": "MW"},
        "consumption": {"amount": cons, "unit": "MW"},
    }
    if fee is not None:
        out["import_from_grid_fee"] = fee
    return out


T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def test_upsert_and_read(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op)
    body = {
        "forecasts": [
            item(b, T0, gen=2, cons="0.25", fee="12.5"),
            item(a, T0 + Q, gen=1.25, cons=3),
            item(a, T0, gen="0.000000000000000001", cons=0),
        ]
    }
    r = await asset_client.post("/api/forecasts", json=body, headers=op)
    assert r.status_code == 200, r.text
    rows = r.json()["forecasts"]
    assert [(x["asset_id"], x["start_time"]) for x in rows] == [
        (a, "2026-06-01T10:00:00Z"),
        (a, "2026-06-01T10:15:00Z"),
        (b, "2026-06-01T10:00:00Z"),
    ]
    from asset_service.forecasts.schemas import ForecastOut, UpsertForecastsResponse

    UpsertForecastsResponse.model_validate(r.json())  # the documented shape, exactly
    assert all(list(x) == list(ForecastOut.model_fields) for x in rows)
    assert rows[0]["generation"] == {"amount": "0.000000000000000001", "unit": "MW"}
    assert rows[1]["generation"] == {"amount": "1.25", "unit": "MW"}
    assert rows[1]["consumption"] == {"amount": "3", "unit": "MW"}
    assert rows[1]["import_from_grid_fee"] is None
    assert rows[2]["import_from_grid_fee"] == "12.5"
    assert rows[2]["end_time"] == "2026-06-01T10:15:00Z"
    assert all(x["delivery_day"] == "2026-06-01" for x in rows)

    member = internal_headers(company_id, "member")
    params = {"asset_ids": f"{a},{b}", "from": iso(T0), "to": iso(T0 + 2 * Q)}
    got = await asset_client.get("/api/forecasts", params=params, headers=member)
    assert got.status_code == 200, got.text
    assert got.json() == {"limit": 50, "offset": 0, "forecasts": rows}

    # [from, to): the upper bound is exclusive, repeated parameters work like commas.
    got = await asset_client.get(
        "/api/forecasts",
        params=[("asset_ids", a), ("asset_ids", b), ("from", iso(T0 + Q)), ("to", iso(T0 + 2 * Q))],
        headers=member,
    )
    assert [(x["asset_id"], x["start_time"]) for x in got.json()["forecasts"]] == [(a, "2026-06-01T10:15:00Z")]
    # pagination
    got = await asset_client.get("/api/forecasts", params={**params, "limit": 1, "offset": 2}, headers=member)
    assert got.json()["limit"] == 1 and got.json()["offset"] == 2
    assert [x["asset_id"] for x in got.json()["forecasts"]] == [b]


async def test_resubmit_overwrites_values_keeps_created_at(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "admin")
    a = await make_asset(asset_client, op)
    first = (await asset_client.post("/api/forecasts", json={"forecasts": [item(a, T0, fee=5)]}, headers=op)).json()
    other = (await asset_client.post("/api/forecasts", json={"forecasts": [item(a, T0 + Q)]}, headers=op)).json()
    again = await asset_client.post("/api/forecasts", json={"forecasts": [item(a, T0, gen=9, cons=1)]}, headers=op)
    assert again.status_code == 200, again.text
    [old], [new] = first["forecasts"], again.json()["forecasts"]
    assert new["created_at"] == old["created_at"]
    assert new["updated_at"] > old["updated_at"]
    assert new["generation"]["amount"] == "9" and new["consumption"]["amount"] == "1"
    assert new["import_from_grid_fee"] is None  # a plain upsert: every value column is overwritten
    params = {"asset_ids": a, "from": iso(T0), "to": iso(T0 + 4 * Q)}
    listed = (await asset_client.get("/api/forecasts", params=params, headers=op)).json()["forecasts"]
    assert listed == [new, other["forecasts"][0]]  # the other period is untouched


@pytest.mark.parametrize(
    ("region", "day", "quarters"),
    [
        ("DE", date(2026, 3, 29), 92),
        ("DE", date(2026, 10, 25), 100),
        ("PL", date(2026, 3, 29), 92),
        ("PL", date(2026, 10, 25), 100),
        ("DE", date(2026, 6, 1), 96),
    ],
)
async def test_delivery_day_follows_local_calendar(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, region: str, day: date, quarters: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op, region)
    starts = quarter_hours(day, region)
    assert len(starts) == quarters
    # the day plus one quarter on each side, which belong to the neighbouring delivery days
    periods = [starts[0] - Q, *starts, starts[-1] + Q]
    body = {"forecasts": [item(a, s, gen=i) for i, s in enumerate(periods)]}
    r = await asset_client.post("/api/forecasts", json=body, headers=op)
    assert r.status_code == 200, r.text
    days = [x["delivery_day"] for x in r.json()["forecasts"]]
    assert days == [str(day - timedelta(days=1)), *[str(day)] * quarters, str(day + timedelta(days=1))]
    lo, hi = delivery_day_bounds(day, region)
    got = await asset_client.get(
        "/api/forecasts", params={"asset_ids": a, "from": iso(lo), "to": iso(hi), "limit": 1000}, headers=op
    )
    rows = got.json()["forecasts"]
    assert len(rows) == quarters
    assert [x["start_time"] for x in rows] == [iso(s) for s in starts]
    assert {x["delivery_day"] for x in rows} == {str(day)}


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    good = item(a, T0)
    bad_items = {
        "unaligned start": {**good, "start_time": "2026-06-01T10:05:00Z", "end_time": "2026-06-01T10:20:00Z"},
        "seconds": {**good, "start_time": "2026-06-01T10:00:30Z", "end_time": "2026-06-01T10:15:30Z"},
        "30 minutes": {**good, "end_time": "2026-06-01T10:30:00Z"},
        "end before start": {**good, "end_time": "2026-06-01T09:45:00Z"},
        "end equals start": {**good, "end_time": good["start_time"]},
        "naive time": {**good, "start_time": "2026-06-01T10:00:00", "end_time": "2026-06-01T10:15:00"},
        "wrong unit": {**good, "generation": {"amount": 1, "unit": "MWh"}},
        "no unit": {**good, "generation": {"amount": 1}},
        "kW": {**good, "consumption": {"amount": 1, "unit": "kW"}},
        "negative generation": {**good, "generation": {"amount": "-1", "unit": "MW"}},
        "not a number": {**good, "generation": {"amount": "abc", "unit": "MW"}},
        "too many decimals": {**good, "generation": {"amount": "0.0000000000000000001", "unit": "MW"}},
        "too many digits": {**good, "generation": {"amount": "1" + "0" * 20, "unit": "MW"}},
        "bad fee": {**good, "import_from_grid_fee": "x"},
        "delivery_day supplied": {**good, "delivery_day": "2026-06-01"},
        "extra field": {**good, "colour": "blue"},
        "missing consumption": {k: v for k, v in good.items() if k != "consumption"},
        "empty asset id": {**good, "asset_id": ""},
        "long asset id": {**good, "asset_id": "x" * 129},
        "NUL in asset id": {**good, "asset_id": "DE\x00X"},
        "year 1": {**good, "start_time": "0001-01-01T00:00:00+01:00", "end_time": "0001-01-01T00:15:00+01:00"},
        "year 9999": {**good, "start_time": "9999-12-31T23:30:00-01:00", "end_time": "9999-12-31T23:45:00-01:00"},
    }
    for name, bad in bad_items.items():
        r = await asset_client.post(
            "/api/forecasts",
            json={"forecasts": [good | {"start_time": iso(T0 + Q), "end_time": iso(T0 + 2 * Q)}, bad]},
            headers=op,
        )
        assert r.status_code == 422, (name, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, list) and detail, name
        assert any(e["loc"][:3] == ["body", "forecasts", 1] for e in detail), (name, detail)
    r = await asset_client.post(
        "/api/forecasts", json={"forecasts": [{**good, "delivery_day": "2026-06-01"}]}, headers=op
    )
    assert "delivery_day is derived server-side" in r.json()["detail"][0]["msg"]

    for body in (
        {"forecasts": []},
        {},
        {"forecasts": [good], "extra": 1},
        {"forecasts": [item(a, T0 + i * Q) for i in range(1001)]},
    ):
        r = await asset_client.post("/api/forecasts", json=body, headers=op)
        assert r.status_code == 422, r.text

    # duplicates inside one batch name the items
    r = await asset_client.post(
        "/api/forecasts",
        json={"forecasts": [good, item(a, T0 + Q), {**good, "generation": {"amount": 2, "unit": "MW"}}]},
        headers=op,
    )
    assert r.status_code == 422
    assert "items 0, 2" in r.json()["detail"][0]["msg"]
    # nothing was written by any of these
    got = await asset_client.get(
        "/api/forecasts", params={"asset_ids": a, "from": iso(T0 - 10 * Q), "to": iso(T0 + 2000 * Q)}, headers=op
    )
    assert got.json()["forecasts"] == []
    # exactly 1000 is fine
    r = await asset_client.post(
        "/api/forecasts", json={"forecasts": [item(a, T0 + i * Q) for i in range(1000)]}, headers=op
    )
    assert r.status_code == 200 and len(r.json()["forecasts"]) == 1000


async def test_query_bounds(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "member")
    ok = {"asset_ids": "X", "from": iso(T0), "to": iso(T0 + Q)}
    assert (await asset_client.get("/api/forecasts", params=ok, headers=op)).status_code == 200
    for params in (
        {**ok, "limit": 0},
        {**ok, "limit": 1001},
        {**ok, "offset": -1},
        {k: v for k, v in ok.items() if k != "asset_ids"},
        {**ok, "asset_ids": ""},
        {**ok, "asset_ids": ",,"},
        {**ok, "asset_ids": "x" * 129},
        {k: v for k, v in ok.items() if k != "from"},
        {k: v for k, v in ok.items() if k != "to"},
        {**ok, "to": iso(T0)},
        {**ok, "to": iso(T0 - Q)},
        {**ok, "from": "yesterday"},
        {**ok, "from": "2026-06-01T10:00:00"},
        {**ok, "from": "0001-01-01T00:00:00+01:00"},
        {**ok, "asset_ids": "A\x00B"},
    ):
        r = await asset_client.get("/api/forecasts", params=params, headers=op)
        assert r.status_code == 422, (params, r.text)
        assert isinstance(r.json()["detail"], list)


async def test_unknown_assets_404_and_nothing_written(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    body = {"forecasts": [item(a, T0), item("DE_50HZ_NOPE_1", T0), item("PL_PSE_NOPE_2", T0 + Q)]}
    r = await asset_client.post("/api/forecasts", json=body, headers=op)
    assert r.status_code == 404
    assert r.json() == {"detail": "Unknown asset ids: DE_50HZ_NOPE_1, PL_PSE_NOPE_2"}
    got = await asset_client.get(
        "/api/forecasts", params={"asset_ids": a, "from": iso(T0), "to": iso(T0 + 4 * Q)}, headers=op
    )
    assert got.json()["forecasts"] == []


async def test_tenant_isolation(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op_a = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op_a)
    assert (
        await asset_client.post("/api/forecasts", json={"forecasts": [item(a, T0)]}, headers=op_a)
    ).status_code == 200
    op_b = internal_headers(company_id + 700_000, "admin")
    r = await asset_client.post("/api/forecasts", json={"forecasts": [item(a, T0, gen=99)]}, headers=op_b)
    assert r.status_code == 404 and a in r.json()["detail"]
    params = {"asset_ids": a, "from": iso(T0), "to": iso(T0 + Q)}
    assert (await asset_client.get("/api/forecasts", params=params, headers=op_b)).json()["forecasts"] == []
    mine = (await asset_client.get("/api/forecasts", params=params, headers=op_a)).json()["forecasts"]
    assert [x["generation"]["amount"] for x in mine] == ["1.5"]


async def test_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    body = {"forecasts": [item(a, T0)]}
    params = {"asset_ids": a, "from": iso(T0), "to": iso(T0 + Q)}
    assert (await asset_client.post("/api/forecasts", json=body)).status_code == 401
    for role in ("member", "device"):
        r = await asset_client.post("/api/forecasts", json=body, headers=internal_headers(company_id, role))
        assert r.status_code == 403, role
    r = await asset_client.get("/api/forecasts", params=params, headers=internal_headers(company_id, "device"))
    assert r.status_code == 403
    assert (await asset_client.get("/api/forecasts", params=params)).status_code == 401


async def test_event_per_asset_in_outbox(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op, "PL")
    r = await asset_client.post(
        "/api/forecasts", json={"forecasts": [item(a, T0), item(a, T0 + Q), item(b, T0)]}, headers=op
    )
    assert r.status_code == 200
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        rows = await conn.fetch(
            "SELECT key, payload FROM asset.outbox WHERE topic = 'assets.forecast.v1' "
            "AND payload->>'companyid' = $1 ORDER BY key",
            str(company_id),
        )
    finally:
        await conn.close()
    import json

    events = {row["key"]: json.loads(row["payload"]) for row in rows}
    assert set(events) == {a, b}
    assert events[a]["type"] == "org.gridcommons.assets.forecast.upserted"
    assert events[a]["subject"] == a
    assert [p["start_time"] for p in events[a]["data"]["periods"]] == [iso(T0), iso(T0 + Q)]
    assert events[b]["data"]["periods"] == [x for x in r.json()["forecasts"] if x["asset_id"] == b]
    assert Decimal(events[b]["data"]["periods"][0]["generation"]["amount"]) == Decimal("1.5")
