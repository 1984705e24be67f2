"""State snapshots (/api/state-snapshots): atomic upsert, latest / [from, to) reads, derived energy flows."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
from asset_helpers import create_asset, iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcommons.db import asyncpg_dsn
from gridcommons.testing.plugin import Stack

_codes = itertools.count(1)
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    body = {
        "code": f"ss{next(_codes)}",
        "name": "Snapshot battery",
        "type": "BESS",
        "region": "DE",
        "delivery_area": "AMPN",
        "provider": "TERRALAYR",
    }
    return await create_asset(client, headers, body)


def snap(asset_id: str, at: datetime, energy: object, quality: str | None = None) -> dict:
    out: dict = {"asset_id": asset_id, "effective_at": iso(at), "stored_energy": {"amount": energy, "unit": "MWh"}}
    if quality is not None:
        out["reading_quality"] = quality
    return out


def mwh(value: object) -> dict | None:
    return None if value is None else {"amount": str(value), "unit": "MWh"}


async def put(client: httpx.AsyncClient, headers: dict[str, str], *items: dict) -> httpx.Response:
    return await client.post("/api/state-snapshots", json={"state_snapshots": list(items)}, headers=headers)


async def test_upsert_and_conflict(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op)
    r = await put(asset_client, op, snap(b, T0, 3), snap(a, T0 + M, "1.500", "ESTIMATED"), snap(a, T0, 2.25))
    assert r.status_code == 200, r.text
    rows = r.json()["state_snapshots"]
    from asset_service.snapshots.schemas import StateSnapshotOut

    assert all(set(x) == set(StateSnapshotOut.model_fields) for x in rows)
    assert [(x["asset_id"], x["effective_at"]) for x in rows] == [(a, iso(T0)), (a, iso(T0 + M)), (b, iso(T0))]
    assert rows[0]["stored_energy"] == {"amount": "2.25", "unit": "MWh"}
    assert rows[0]["reading_quality"] == "VALID"  # the default
    assert rows[1]["stored_energy"] == {"amount": "1.5", "unit": "MWh"} and rows[1]["reading_quality"] == "ESTIMATED"
    assert rows[0]["created_at"] == rows[0]["updated_at"]

    again = await put(asset_client, op, snap(a, T0, "7", "SUBSTITUTED"))
    [row] = again.json()["state_snapshots"]
    assert row["created_at"] == rows[0]["created_at"]
    assert row["updated_at"] > rows[0]["updated_at"]
    assert row["stored_energy"]["amount"] == "7" and row["reading_quality"] == "SUBSTITUTED"

    got = await asset_client.get(
        "/api/state-snapshots",
        params={"asset_ids": a, "from": iso(T0), "to": iso(T0 + 2 * M)},
        headers=internal_headers(company_id, "member"),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(x["effective_at"], x["stored_energy"]["amount"]) for x in body["state_snapshots"]] == [
        (iso(T0), "7"),
        (iso(T0 + M), "1.5"),
    ]
    assert body["state_snapshots"][1]["created_at"] == rows[1]["created_at"]


async def test_unknown_assets_422_naming_all_nothing_written(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    r = await put(asset_client, op, snap(a, T0, 1), snap("NOPE_1", T0, 1), snap(a, T0 + M, 2), snap("NOPE_2", T0, 1))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [(e["loc"], e["input"], e["type"]) for e in detail] == [
        (["body", "state_snapshots", 1, "asset_id"], "NOPE_1", "value_error"),
        (["body", "state_snapshots", 3, "asset_id"], "NOPE_2", "value_error"),
    ]
    assert "unknown asset id NOPE_1" in detail[0]["msg"]
    got = await asset_client.get("/api/state-snapshots", params={"asset_ids": a, "from": iso(T0)}, headers=op)
    assert got.json()["state_snapshots"] == []


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    good = snap(a, T0, 1)
    bad_items = {
        "energy in MW": {**good, "stored_energy": {"amount": 1, "unit": "MW"}},
        "no unit": {**good, "stored_energy": {"amount": 1}},
        "negative": {**good, "stored_energy": {"amount": "-0.001", "unit": "MWh"}},
        "nan": {**good, "stored_energy": {"amount": "NaN", "unit": "MWh"}},
        "too precise": {**good, "stored_energy": {"amount": "1.0000000000000000001", "unit": "MWh"}},
        "naive": {**good, "effective_at": "2026-05-04T08:00:00"},
        "not a time": {**good, "effective_at": "soon"},
        "quality": {**good, "reading_quality": "GREAT"},
        "extra": {**good, "soc": 0.5},
        "missing energy": {"asset_id": a, "effective_at": iso(T0)},
        "empty id": {**good, "asset_id": ""},
        "NUL id": {**good, "asset_id": "\x00"},
        "before 1900": {**good, "effective_at": "1899-12-31T23:59:59Z"},
    }
    for name, bad in bad_items.items():
        r = await put(asset_client, op, snap(a, T0 - M, 1), bad)
        assert r.status_code == 422, (name, r.text)
        assert any(e["loc"][:3] == ["body", "state_snapshots", 1] for e in r.json()["detail"]), (name, r.text)
    for body in ({"state_snapshots": []}, {}, {"state_snapshots": [good], "x": 1}):
        r = await asset_client.post("/api/state-snapshots", json=body, headers=op)
        assert r.status_code == 422, body
    # the same instant written with another offset is the same key
    dup = await put(asset_client, op, good, snap(a, T0 + M, 2), {**good, "effective_at": "2026-05-04T10:00:00+02:00"})
    assert dup.status_code == 422
    assert "items 0, 2" in dup.json()["detail"][0]["msg"]
    got = await asset_client.get("/api/state-snapshots", params={"asset_ids": a, "from": iso(T0 - M)}, headers=op)
    assert got.json()["state_snapshots"] == []


async def test_read_rules(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    now = datetime.now(UTC).replace(microsecond=0)
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)
    assert (await put(asset_client, op, snap(a, past, 1), snap(a, future, 3))).status_code == 200

    async def read(params: dict) -> httpx.Response:
        return await asset_client.get("/api/state-snapshots", params={"asset_ids": a, **params}, headers=op)

    # to defaults to now: the future snapshot is not included; no from: everything before
    body = (await read({})).json()
    assert [x["effective_at"] for x in body["state_snapshots"]] == [iso(past)]
    assert body["limit"] == 50 and body["offset"] == 0
    # latest mode returns the most recent per asset, whatever "now" is
    latest = (await read({"latest": "true"})).json()["state_snapshots"]
    assert [(x["effective_at"], x["charged_energy"]) for x in latest] == [(iso(future), mwh(2))]
    for params in (
        {"latest": "true", "from": iso(past)},
        {"latest": "true", "to": iso(future)},
        {"latest": "true", "from": iso(past), "to": iso(future)},
    ):
        r = await read(params)
        assert r.status_code == 422, params
        assert r.json()["detail"][0]["loc"] == ["query", "latest"]
    for params in (
        {"from": iso(future), "to": iso(past)},
        {"from": iso(past), "to": iso(past)},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"from": "2026-05-04T08:00:00"},
        {"latest": "maybe"},
    ):
        assert (await read(params)).status_code == 422, params
    assert (await asset_client.get("/api/state-snapshots", headers=op)).status_code == 422  # asset_ids required
    assert (await asset_client.get("/api/state-snapshots", params={"asset_ids": ""}, headers=op)).status_code == 422
    # unknown ids: an empty list, silently, with zero totals
    for params in ({}, {"latest": "true"}):
        r = await asset_client.get("/api/state-snapshots", params={"asset_ids": "UNKNOWN_1", **params}, headers=op)
        assert r.status_code == 200
        assert r.json() == {
            "state_snapshots": [],
            "limit": 50,
            "offset": 0,
            "total_charged_energy": mwh(0),
            "total_discharged_energy": mwh(0),
        }


async def test_derived_energy_first_of_range_gaps_and_invalid(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op)
    r = await put(
        asset_client,
        op,
        snap(a, T0, 10),
        snap(a, T0 + 5 * M, 12, "INVALID"),  # before from, INVALID: never a predecessor
        snap(a, T0 + 10 * M, "12.5"),  # first in range: predecessor is T0 (10)
        snap(a, T0 + 15 * M, 99, "INVALID"),  # INVALID inside the range: returned, no flows, skipped
        snap(a, T0 + 20 * M, "11.25", "ESTIMATED"),
        snap(a, T0 + 24 * 60 * M, 20),  # a day-long gap: the net change goes to this snapshot
        snap(b, T0 + 10 * M, 4),  # b has nothing before from: no predecessor
        snap(b, T0 + 12 * M, 1),
    )
    assert r.status_code == 200, r.text
    got = await asset_client.get(
        "/api/state-snapshots",
        params={"asset_ids": f"{a},{b}", "from": iso(T0 + 10 * M), "to": iso(T0 + 2 * 24 * 60 * M)},
        headers=op,
    )
    body = got.json()
    from asset_service.snapshots.schemas import StateSnapshotListResponse, StateSnapshotRead

    StateSnapshotListResponse.model_validate(body)  # the documented shape, exactly
    assert list(body) == list(StateSnapshotListResponse.model_fields)
    assert all(set(x) == set(StateSnapshotRead.model_fields) for x in body["state_snapshots"])
    flows = [
        (x["asset_id"], x["effective_at"], x["charged_energy"], x["discharged_energy"]) for x in body["state_snapshots"]
    ]
    assert flows == sorted(
        [
            (a, iso(T0 + 10 * M), mwh("2.5"), mwh(0)),
            (b, iso(T0 + 10 * M), None, None),
            (b, iso(T0 + 12 * M), mwh(0), mwh(3)),
            (a, iso(T0 + 15 * M), None, None),
            (a, iso(T0 + 20 * M), mwh(0), mwh("1.25")),
            (a, iso(T0 + 24 * 60 * M), mwh("8.75"), mwh(0)),
        ],
        key=lambda f: (f[1], f[0]),
    )
    assert body["total_charged_energy"] == mwh("11.25")
    assert body["total_discharged_energy"] == mwh("4.25")
    # totals cover the whole range, not the page
    page = (
        await asset_client.get(
            "/api/state-snapshots",
            params={
                "asset_ids": f"{a},{b}",
                "from": iso(T0 + 10 * M),
                "to": iso(T0 + 2 * 24 * 60 * M),
                "limit": 2,
                "offset": 3,
            },
            headers=op,
        )
    ).json()
    assert [x["effective_at"] for x in page["state_snapshots"]] == [iso(T0 + 15 * M), iso(T0 + 20 * M)]
    assert page["total_charged_energy"] == mwh("11.25") and page["limit"] == 2 and page["offset"] == 3
    # latest: one per asset, ordered by asset id, flows against the previous usable snapshot
    latest = (
        await asset_client.get("/api/state-snapshots", params={"asset_ids": f"{b},{a}", "latest": True}, headers=op)
    ).json()
    assert [(x["asset_id"], x["charged_energy"], x["discharged_energy"]) for x in latest["state_snapshots"]] == sorted(
        [(a, mwh("8.75"), mwh(0)), (b, mwh(0), mwh(3))]
    )
    assert latest["total_charged_energy"] == mwh("8.75") and latest["total_discharged_energy"] == mwh(3)


async def test_tenant_isolation_and_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    assert (await put(asset_client, op, snap(a, T0, 5))).status_code == 200
    other = internal_headers(company_id + 900_000, "admin")
    r = await put(asset_client, other, snap(a, T0, 50))
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == a
    for params in ({"from": iso(T0)}, {"latest": "true"}):
        got = await asset_client.get("/api/state-snapshots", params={"asset_ids": a, **params}, headers=other)
        assert got.json()["state_snapshots"] == []
    mine = await asset_client.get("/api/state-snapshots", params={"asset_ids": a, "latest": "true"}, headers=op)
    assert [x["stored_energy"]["amount"] for x in mine.json()["state_snapshots"]] == ["5"]

    for role in ("member", "device"):
        assert (await put(asset_client, internal_headers(company_id, role), snap(a, T0, 1))).status_code == 403
    device = internal_headers(company_id, "device")
    assert (await asset_client.get("/api/state-snapshots", params={"asset_ids": a}, headers=device)).status_code == 403
    assert (await asset_client.get("/api/state-snapshots", params={"asset_ids": a})).status_code == 401
    assert (
        await asset_client.post("/api/state-snapshots", json={"state_snapshots": [snap(a, T0, 1)]})
    ).status_code == 401


async def test_event_per_asset(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a = await make_asset(asset_client, op)
    b = await make_asset(asset_client, op)
    r = await put(asset_client, op, snap(a, T0, 1), snap(b, T0, 2), snap(a, T0 + M, 3))
    assert r.status_code == 200
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        rows = await conn.fetch(
            "SELECT key, payload FROM asset.outbox WHERE topic = 'assets.state-snapshot.v1' AND payload->>'companyid' = $1",
            str(company_id),
        )
    finally:
        await conn.close()
    events = {row["key"]: json.loads(row["payload"]) for row in rows}
    assert sorted(events) == sorted([a, b])
    assert events[a]["type"] == "org.gridcommons.assets.state-snapshot.upserted"
    assert [x["stored_energy"]["amount"] for x in events[a]["data"]["state_snapshots"]] == ["1", "3"]
    assert events[b]["data"]["state_snapshots"] == [x for x in r.json()["state_snapshots"] if x["asset_id"] == b]


# ---- property: per-row flows and totals equal a straightforward reference computation ----

QUALITIES = ["VALID", "ESTIMATED", "SUBSTITUTED", "INVALID"]
Snap = tuple[int, int, Decimal, str]  # (asset index, minute, energy, quality)


def _cases() -> list[tuple[list[Snap], int | None, int, int, int]]:
    out: list[tuple[list[Snap], int | None, int, int, int]] = []
    energy = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
    row = st.tuples(st.integers(0, 1), st.integers(0, 60), energy, st.sampled_from(QUALITIES))

    @settings(max_examples=60, database=None, suppress_health_check=list(HealthCheck))
    @given(
        rows=st.lists(row, min_size=0, max_size=30, unique_by=lambda r: r[:2]),
        lo=st.none() | st.integers(-5, 60),
        width=st.integers(1, 70),
        limit=st.integers(1, 12),
        offset=st.integers(0, 20),
    )
    def collect(rows, lo, width, limit, offset) -> None:  # type: ignore[no-untyped-def]
        out.append((rows, lo, (lo or 0) + width, limit, offset))

    collect()
    return out


def reference(
    rows: list[Snap], lo: int | None, hi: int | None, latest: bool
) -> tuple[list[tuple[int, int, Decimal | None, Decimal | None]], Decimal, Decimal]:
    """[(asset, minute, charged, discharged)] in the API's order, total charged, total discharged."""

    def flows(a: int, minute: int, e: Decimal, q: str) -> tuple[Decimal | None, Decimal | None]:
        if q == "INVALID":
            return None, None
        before = [r for r in rows if r[0] == a and r[1] < minute and r[3] != "INVALID"]
        if not before:
            return None, None
        delta = e - max(before, key=lambda r: r[1])[2]
        return max(delta, Decimal(0)), max(-delta, Decimal(0))

    if latest:
        chosen = [
            max((r for r in rows if r[0] == a), key=lambda r: r[1]) for a in (0, 1) if any(r[0] == a for r in rows)
        ]
    else:
        chosen = sorted(
            (r for r in rows if (lo is None or r[1] >= lo) and (hi is None or r[1] < hi)), key=lambda r: (r[1], r[0])
        )
    result = [(r[0], r[1], *flows(*r)) for r in chosen]
    charged = sum((c for _, _, c, _ in result if c is not None), Decimal(0))
    discharged = sum((d for _, _, _, d in result if d is not None), Decimal(0))
    return result, charged, discharged


async def test_property_flows_match_reference(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    cases = _cases()
    for n, (rows, lo, hi, limit, offset) in enumerate(cases):
        op = internal_headers(company_id * 100 + n, "operator")
        assets = sorted([await make_asset(asset_client, op), await make_asset(asset_client, op)])
        if rows:
            r = await put(asset_client, op, *(snap(assets[a], T0 + m * M, str(e), q) for a, m, e, q in rows))
            assert r.status_code == 200, r.text
        for latest in (False, True):
            params: dict = {"asset_ids": ",".join(assets), "limit": limit, "offset": offset}
            if latest:
                params["latest"] = "true"
            else:
                params["to"] = iso(T0 + hi * M)
                if lo is not None:
                    params["from"] = iso(T0 + lo * M)
            got = await asset_client.get("/api/state-snapshots", params=params, headers=op)
            assert got.status_code == 200, got.text
            body = got.json()
            expected, charged, discharged = reference(rows, lo, hi, latest)
            actual = [
                (
                    assets.index(x["asset_id"]),
                    int((datetime.fromisoformat(x["effective_at"]) - T0) / M),
                    None if x["charged_energy"] is None else Decimal(x["charged_energy"]["amount"]),
                    None if x["discharged_energy"] is None else Decimal(x["discharged_energy"]["amount"]),
                )
                for x in body["state_snapshots"]
            ]
            assert actual == expected[offset : offset + limit], (rows, lo, hi, latest, limit, offset)
            assert Decimal(body["total_charged_energy"]["amount"]) == charged
            assert Decimal(body["total_discharged_energy"]["amount"]) == discharged
