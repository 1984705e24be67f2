"""Sites (/api/sites): sites, dispatch mode, inverters, PoC limits and inverter limits."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from gridcommons.timeutil import delivery_day_bounds, quarter_hours

_companies = itertools.count(8_500_000)
PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)
T0 = datetime(2026, 1, 5, tzinfo=UTC)
Q = timedelta(minutes=15)
DAY = timedelta(days=1)

PRICE_BASED = {
    "name": "PRICE_BASED",
    "floor_price": {"amount": 20, "unit": "EUR/MWh"},
    "strike_price": {"amount": "95.50", "unit": "EUR/MWh"},
}
SITE = {"name": "Immenstaad", "code": "immst", "region": "DE", "delivery_area": "AMPN", "dispatch_mode": PRICE_BASED}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mw(x: Any) -> dict[str, Any]:
    return {"amount": x, "unit": "MW"}


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str], code: str = "bat") -> str:
    body = {"code": code, "name": "A", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    r = await client.post("/api/assets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_site(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    r = await client.post("/api/sites", json={**SITE, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_inverter(
    client: httpx.AsyncClient, headers: dict[str, str], site_id: str, asset_ids: list[str], **overrides: Any
) -> dict[str, Any]:
    body = {"rated_power": mw(5), "charge_efficiency": 0.97, "discharge_efficiency": "0.96", "asset_ids": asset_ids}
    r = await client.post(f"/api/sites/{site_id}/inverters", json={**body, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


# -- sites -------------------------------------------------------------------------------------


async def test_create_get_list_patch_delete(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    first = await make_site(asset_client, op)
    assert first["id"] == "DE_AMPN_IMMST_SITE_1"
    assert first["dispatch_mode"] == {
        "name": "PRICE_BASED",
        "floor_price": {"amount": "20", "unit": "EUR/MWh"},
        "strike_price": {"amount": "95.5", "unit": "EUR/MWh"},
    }
    assert first["inverters"] == [] and first["code"] == "immst"
    second = await make_site(asset_client, op, dispatch_mode={"name": "OPTIMISATION"})
    assert second["id"] == "DE_AMPN_IMMST_SITE_2"
    pl = await make_site(
        asset_client, op, code="gda-1", region="PL", delivery_area="PSE", dispatch_mode={"name": "MANUAL"}
    )
    assert pl["id"] == "PL_PSE_GDA_1_SITE_1"
    assert pl["dispatch_mode"] == {"name": "MANUAL", "floor_price": None, "strike_price": None}

    member = internal_headers(company_id, "member")
    assert (await asset_client.get(f"/api/sites/{first['id']}", headers=member)).json() == first
    listed = (await asset_client.get("/api/sites", headers=member)).json()
    assert [s["id"] for s in listed["sites"]] == [first["id"], second["id"], pl["id"]]
    assert (listed["limit"], listed["offset"]) == (50, 0)
    page = (await asset_client.get("/api/sites", params={"limit": 1, "offset": 1}, headers=member)).json()
    assert [s["id"] for s in page["sites"]] == [second["id"]]
    by_region = (await asset_client.get("/api/sites", params={"region": "PL"}, headers=member)).json()
    assert [s["id"] for s in by_region["sites"]] == [pl["id"]]
    by_area = (await asset_client.get("/api/sites", params={"delivery_area": "AMPN"}, headers=member)).json()
    assert [s["id"] for s in by_area["sites"]] == [first["id"], second["id"]]

    # PATCH: name; switching to PRICE_BASED needs prices; leaving it clears them.
    r = await asset_client.patch(f"/api/sites/{second['id']}", json={"name": "Renamed"}, headers=op)
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.json()["updated_at"] >= second["updated_at"]
    r = await asset_client.patch(f"/api/sites/{second['id']}", json={"dispatch_mode_name": "PRICE_BASED"}, headers=op)
    assert r.status_code == 422 and "requires floor_price" in r.json()["detail"][0]["msg"]
    r = await asset_client.patch(
        f"/api/sites/{second['id']}",
        json={
            "dispatch_mode_name": "PRICE_BASED",
            "dispatch_mode_floor_price": {"amount": 1, "unit": "EUR/MWh"},
            "dispatch_mode_strike_price": {"amount": 2, "unit": "EUR/MWh"},
        },
        headers=op,
    )
    assert r.status_code == 200, r.text
    assert r.json()["dispatch_mode"]["strike_price"] == {"amount": "2", "unit": "EUR/MWh"}
    # Only one price given on a PRICE_BASED site: the other one is kept.
    r = await asset_client.patch(
        f"/api/sites/{second['id']}",
        json={"dispatch_mode_floor_price": {"amount": "1.5", "unit": "EUR/MWh"}},
        headers=op,
    )
    assert r.json()["dispatch_mode"] == {
        "name": "PRICE_BASED",
        "floor_price": {"amount": "1.5", "unit": "EUR/MWh"},
        "strike_price": {"amount": "2", "unit": "EUR/MWh"},
    }
    r = await asset_client.patch(f"/api/sites/{second['id']}", json={"dispatch_mode_name": "PEAK_SHAVING"}, headers=op)
    assert r.json()["dispatch_mode"] == {"name": "PEAK_SHAVING", "floor_price": None, "strike_price": None}
    assert r.json()["name"] == "Renamed" and r.json()["id"] == second["id"]
    r = await asset_client.patch(
        f"/api/sites/{second['id']}",
        json={"dispatch_mode_strike_price": {"amount": 2, "unit": "EUR/MWh"}},
        headers=op,
    )
    assert r.status_code == 422  # prices only for PRICE_BASED

    # Immutable id-forming fields.
    for field, value in (("code", "x"), ("region", "PL"), ("delivery_area", "TNBW")):
        r = await asset_client.patch(f"/api/sites/{first['id']}", json={field: value}, headers=op)
        assert r.status_code == 422 and "cannot be changed" in r.json()["detail"][0]["msg"], r.text
    assert (await asset_client.get(f"/api/sites/{first['id']}", headers=op)).json() == first

    # DELETE, then 404 everywhere.
    r = await asset_client.delete(f"/api/sites/{first['id']}", headers=op)
    assert r.status_code == 204 and r.content == b""
    assert (await asset_client.get(f"/api/sites/{first['id']}", headers=op)).status_code == 404
    assert (await asset_client.delete(f"/api/sites/{first['id']}", headers=op)).status_code == 404
    assert (await asset_client.patch(f"/api/sites/{first['id']}", json={"name": "x"}, headers=op)).status_code == 404
    # Ids are never reused.
    assert (await make_site(asset_client, op))["id"] == "DE_AMPN_IMMST_SITE_3"


async def test_site_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    bad = [
        {**SITE, "region": "PL"},  # AMPN is not in PL
        {**SITE, "region": "FR"},
        {**SITE, "code": ""},
        {**SITE, "code": "a b"},
        {**SITE, "name": ""},
        {**SITE, "extra": 1},
        {k: v for k, v in SITE.items() if k != "dispatch_mode"},
        {**SITE, "dispatch_mode": {"name": "TURBO"}},
        {**SITE, "dispatch_mode": {"name": "PRICE_BASED"}},
        {**SITE, "dispatch_mode": {**PRICE_BASED, "floor_price": {"amount": 1, "unit": "MW"}}},
        {**SITE, "dispatch_mode": {**PRICE_BASED, "floor_price": {"amount": 100, "unit": "EUR/MWh"}}},  # > strike
        {**SITE, "dispatch_mode": {"name": "OPTIMISATION", "floor_price": {"amount": 1, "unit": "EUR/MWh"}}},
        {**SITE, "dispatch_mode": {**PRICE_BASED, "strike_price": {"amount": "1e25", "unit": "EUR/MWh"}}},
    ]
    for body in bad:
        r = await asset_client.post("/api/sites", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"region": "FR"}, {"expand": "everything"}):
        assert (await asset_client.get("/api/sites", params=params, headers=op)).status_code == 422, params
    assert (await asset_client.get("/api/sites", headers=op)).json()["sites"] == []
    site = await make_site(asset_client, op)
    for body in ({"name": ""}, {"dispatch_mode_name": "TURBO"}, {"unknown": 1}):
        assert (await asset_client.patch(f"/api/sites/{site['id']}", json=body, headers=op)).status_code == 422


# -- inverters ---------------------------------------------------------------------------------


async def test_inverters(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a1, a2, a3 = [await make_asset(asset_client, op, c) for c in ("b1", "b2", "pv")]
    site = await make_site(asset_client, op)
    other_site = await make_site(asset_client, op, dispatch_mode={"name": "OPTIMISATION"})
    inv1 = await make_inverter(asset_client, op, site["id"], [a2, a1])
    assert inv1 == {
        "id": f"{site['id']}_INV_1",
        "site_id": site["id"],
        "rated_power": {"amount": "5", "unit": "MW"},
        "charge_efficiency": "0.97",
        "discharge_efficiency": "0.96",
        "asset_ids": [a2, a1],
        "assets": None,
    }
    inv2 = await make_inverter(asset_client, op, site["id"], [a3], rated_power=mw("2.5"))
    assert inv2["id"] == f"{site['id']}_INV_2"

    member = internal_headers(company_id, "member")
    got = (await asset_client.get(f"/api/sites/{site['id']}", headers=member)).json()
    assert [i["id"] for i in got["inverters"]] == [inv1["id"], inv2["id"]]
    assert (await asset_client.get(f"/api/sites/{site['id']}/inverters", headers=member)).json() == got["inverters"]
    one = await asset_client.get(f"/api/sites/{site['id']}/inverters/{inv2['id']}", headers=member)
    assert one.json() == inv2
    # An inverter is addressed through its own site only.
    assert (
        await asset_client.get(f"/api/sites/{other_site['id']}/inverters/{inv2['id']}", headers=op)
    ).status_code == 404

    # asset_id filter and expand=assets.
    r = await asset_client.get("/api/sites", params={"asset_id": a3}, headers=member)
    assert [s["id"] for s in r.json()["sites"]] == [site["id"]]
    assert (await asset_client.get("/api/sites", params={"asset_id": "NOPE"}, headers=member)).json()["sites"] == []
    r = await asset_client.get("/api/sites", params={"asset_id": a1, "expand": "assets"}, headers=member)
    inverters = r.json()["sites"][0]["inverters"]
    assert [[a["id"] for a in i["assets"]] for i in inverters] == [[a2, a1], [a3]]
    assert inverters[0]["assets"][0]["type"] == "BESS"
    plain = (await asset_client.get("/api/sites", headers=member)).json()["sites"]
    assert plain[0]["inverters"][0]["assets"] is None and plain[1]["inverters"] == []

    # PATCH: partial; asset_ids replaces the list.
    r = await asset_client.patch(
        f"/api/sites/{site['id']}/inverters/{inv1['id']}", json={"charge_efficiency": "0.5"}, headers=op
    )
    assert r.status_code == 200 and r.json() == {**inv1, "charge_efficiency": "0.5"}
    r = await asset_client.patch(
        f"/api/sites/{site['id']}/inverters/{inv1['id']}",
        json={"asset_ids": [a3], "rated_power": mw(7), "discharge_efficiency": 1},
        headers=op,
    )
    assert r.json()["asset_ids"] == [a3] and r.json()["rated_power"]["amount"] == "7"
    assert r.json()["discharge_efficiency"] == "1" and r.json()["charge_efficiency"] == "0.5"
    r = await asset_client.get("/api/sites", params={"asset_id": a1}, headers=member)
    assert r.json()["sites"] == []

    # DELETE an inverter.
    assert (await asset_client.delete(f"/api/sites/{site['id']}/inverters/{inv2['id']}", headers=op)).status_code == 204
    assert (await asset_client.delete(f"/api/sites/{site['id']}/inverters/{inv2['id']}", headers=op)).status_code == 404
    assert [i["id"] for i in (await asset_client.get(f"/api/sites/{site['id']}", headers=op)).json()["inverters"]] == [
        inv1["id"]
    ]
    # Deleting the site deletes its inverters.
    assert (await asset_client.delete(f"/api/sites/{site['id']}", headers=op)).status_code == 204
    assert (await asset_client.get(f"/api/sites/{site['id']}/inverters/{inv1['id']}", headers=op)).status_code == 404


async def test_inverter_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    foreign = await make_asset(asset_client, internal_headers(company_id + 500_000, "operator"), "far")
    site = await make_site(asset_client, op)
    url = f"/api/sites/{site['id']}/inverters"
    base = {"rated_power": mw(5), "charge_efficiency": 0.9, "discharge_efficiency": 0.9, "asset_ids": [asset]}
    bad = [
        {**base, "asset_ids": []},
        {**base, "asset_ids": [asset, asset]},
        {**base, "rated_power": {"amount": 5, "unit": "MWh"}},
        {**base, "rated_power": mw(0)},
        {**base, "rated_power": mw(-1)},
        {**base, "charge_efficiency": 0},
        {**base, "discharge_efficiency": "1.5"},
        {**base, "charge_efficiency": "x"},
        {k: v for k, v in base.items() if k != "discharge_efficiency"},
        {**base, "id": "MINE"},
    ]
    for body in bad:
        r = await asset_client.post(url, json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    # Unknown and other tenant's asset ids: 422 naming each one, at its position.
    r = await asset_client.post(url, json={**base, "asset_ids": ["NOPE_1", asset, foreign]}, headers=op)
    assert r.status_code == 422
    assert [(e["loc"], e["input"]) for e in r.json()["detail"]] == [
        (["body", "asset_ids", 0], "NOPE_1"),
        (["body", "asset_ids", 2], foreign),
    ]
    assert (await asset_client.get(f"/api/sites/{site['id']}", headers=op)).json()["inverters"] == []
    inv = await make_inverter(asset_client, op, site["id"], [asset])
    purl = f"{url}/{inv['id']}"
    for body in ({"asset_ids": []}, {"asset_ids": ["NOPE"]}, {"rated_power": mw(-2)}, {"site_id": "x"}):
        r = await asset_client.patch(purl, json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    assert (await asset_client.get(purl, headers=op)).json() == inv
    assert (await asset_client.post("/api/sites/NOPE_SITE_1/inverters", json=base, headers=op)).status_code == 404
    assert (await asset_client.patch(f"{url}/NOPE", json={"charge_efficiency": 1}, headers=op)).status_code == 404


async def test_deleting_an_asset_unlinks_it(
    asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a1, a2 = await make_asset(asset_client, op), await make_asset(asset_client, op)
    site = await make_site(asset_client, op)
    inv = await make_inverter(asset_client, op, site["id"], [a1, a2])
    async with asset_app.state.engine.begin() as conn:  # the FK cascades whatever deletes the asset
        await conn.execute(
            text("DELETE FROM asset.assets WHERE company_id = :c AND id = :a"), {"c": company_id, "a": a1}
        )
    got = await asset_client.get(f"/api/sites/{site['id']}/inverters/{inv['id']}", headers=op)
    assert got.json()["asset_ids"] == [a2]


# -- limits ------------------------------------------------------------------------------------


async def test_poc_limits_upsert_and_read(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    site = await make_site(asset_client, op)
    url = f"/api/sites/{site['id']}/limits"
    body = {
        "limits": [
            {
                "start_time": iso(T0),
                "end_time": iso(T0 + Q),
                "max_import_from_grid": mw(10),
                "max_export_to_grid": mw(8),
            },
            # one hour: expanded into four quarter-hour rows
            {"start_time": iso(T0 + Q), "end_time": iso(T0 + 5 * Q), "max_import_from_grid": mw("7.25")},
        ]
    }
    r = await asset_client.put(url, json=body, headers=op)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 5, "start_time": iso(T0), "end_time": iso(T0 + 5 * Q)}
    member = internal_headers(company_id, "member")
    window = {"from": iso(T0), "to": iso(T0 + DAY)}
    got = (await asset_client.get(url, params=window, headers=member)).json()
    assert (got["limit"], got["offset"]) == (50, 0)
    assert [(p["start_time"], p["end_time"]) for p in got["limits"]] == [
        (iso(T0 + i * Q), iso(T0 + (i + 1) * Q)) for i in range(5)
    ]
    assert got["limits"][0]["max_import_from_grid"] == {"amount": "10", "unit": "MW"}
    assert got["limits"][0]["max_export_to_grid"] == {"amount": "8", "unit": "MW"}
    assert [p["max_import_from_grid"]["amount"] for p in got["limits"][1:]] == ["7.25"] * 4
    assert all(p["max_export_to_grid"] is None for p in got["limits"][1:])

    # Matching start_time overwritten (fully), others untouched.
    r = await asset_client.put(
        url,
        json={"limits": [{"start_time": iso(T0 + 2 * Q), "end_time": iso(T0 + 3 * Q), "max_export_to_grid": mw(1)}]},
        headers=op,
    )
    assert r.json()["rows"] == 1
    got = (await asset_client.get(url, params=window, headers=member)).json()["limits"]
    assert got[2]["max_import_from_grid"] is None and got[2]["max_export_to_grid"] == {"amount": "1", "unit": "MW"}
    assert got[1]["max_import_from_grid"]["amount"] == "7.25" and len(got) == 5

    # [from, to) on start_time, pagination.
    r = await asset_client.get(url, params={"from": iso(T0 + Q), "to": iso(T0 + 3 * Q)}, headers=member)
    assert [p["start_time"] for p in r.json()["limits"]] == [iso(T0 + Q), iso(T0 + 2 * Q)]
    r = await asset_client.get(url, params={**window, "limit": 2, "offset": 3}, headers=member)
    assert [p["start_time"] for p in r.json()["limits"]] == [iso(T0 + 3 * Q), iso(T0 + 4 * Q)]
    # Exactly 31 days is allowed, more is 422; to <= from is 422.
    ok = await asset_client.get(url, params={"from": iso(T0), "to": iso(T0 + 31 * DAY)}, headers=member)
    assert ok.status_code == 200 and len(ok.json()["limits"]) == 5
    for frm, to in ((T0, T0 + 31 * DAY + Q), (T0, T0), (T0 + DAY, T0)):
        r = await asset_client.get(url, params={"from": iso(frm), "to": iso(to)}, headers=member)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "to"], r.text


async def test_limits_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    site = await make_site(asset_client, op)
    asset = await make_asset(asset_client, op)
    inv = await make_inverter(asset_client, op, site["id"], [asset])
    good = {"start_time": iso(T0), "end_time": iso(T0 + Q), "max_import_from_grid": mw(1)}
    bad = [
        {"limits": []},
        {},
        {"limits": [{**good, "start_time": iso(T0 + timedelta(minutes=5))}]},  # unaligned
        {"limits": [{**good, "end_time": iso(T0 + Q + timedelta(seconds=1))}]},
        {"limits": [{**good, "end_time": iso(T0)}]},  # empty
        {"limits": [{**good, "end_time": iso(T0 - Q)}]},  # end before start
        {"limits": [{**good, "max_import_from_grid": {"amount": 1, "unit": "MWh"}}]},
        {"limits": [{**good, "max_export_to_grid": mw(-1)}]},
        {"limits": [{**good, "max_export_to_grid": mw("1e21")}]},
        {"limits": [{**good, "start_time": "2026-01-05T00:00:00"}]},  # no zone
        {"limits": [{**good, "start_time": "0001-01-01T00:00:00+01:00"}]},  # out of range
        {"limits": [good, good]},  # duplicate start_time
        {"limits": [good, {**good, "start_time": iso(T0 - Q), "end_time": iso(T0 + 2 * Q)}]},  # overlap
        {"limits": [{**good, "delivery_day": "2026-01-05"}]},
        {"limits": [{**good, "end_time": iso(T0 + 420 * DAY)}]},  # > 40,000 quarter hours
    ]
    for url in (f"/api/sites/{site['id']}/limits", f"/api/sites/{site['id']}/inverters/{inv['id']}/limits"):
        for body in bad:
            r = await asset_client.put(url, json=body, headers=op)
            assert r.status_code == 422, (url, body, r.text)
        r = await asset_client.put(
            url,
            json={"limits": [good, good, {**good, "start_time": iso(T0 + 4 * Q), "end_time": iso(T0 + 8 * Q)}]},
            headers=op,
        )
        assert "limits[1] overlaps limits[0]" in r.json()["detail"][0]["msg"]
        for params in (
            {"from": iso(T0)},
            {"to": iso(T0)},
            {"from": "x", "to": iso(T0)},
            {"from": iso(T0), "to": "9999-12-31T23:45:00Z"},
            {"from": iso(T0), "to": iso(T0 + DAY), "limit": 0},
            {"from": iso(T0), "to": iso(T0 + DAY), "limit": 1001},
            {"from": iso(T0), "to": iso(T0 + DAY), "offset": -1},
        ):
            assert (await asset_client.get(url, params=params, headers=op)).status_code == 422, params
        got = await asset_client.get(url, params={"from": iso(T0 - DAY), "to": iso(T0 + DAY)}, headers=op)
        assert got.json()["limits"] == []  # nothing half-written


async def test_inverter_limits_seven_day_window(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    site = await make_site(asset_client, op)
    asset = await make_asset(asset_client, op)
    inv = await make_inverter(asset_client, op, site["id"], [asset])
    other = await make_inverter(asset_client, op, site["id"], [asset])
    url = f"/api/sites/{site['id']}/inverters/{inv['id']}/limits"
    day = [
        {"start_time": iso(T0), "end_time": iso(T0 + DAY), "max_import_from_grid": mw(3), "max_export_to_grid": mw(4)}
    ]
    r = await asset_client.put(url, json={"limits": day}, headers=op)
    assert r.status_code == 200 and r.json()["rows"] == 96
    got = (
        await asset_client.get(url, params={"from": iso(T0), "to": iso(T0 + 7 * DAY), "limit": 1000}, headers=op)
    ).json()
    assert len(got["limits"]) == 96 and got["limits"][-1]["start_time"] == iso(T0 + DAY - Q)
    r = await asset_client.get(url, params={"from": iso(T0), "to": iso(T0 + 7 * DAY + Q)}, headers=op)
    assert r.status_code == 422
    # Limits belong to one inverter; the site's PoC limits are a separate series.
    other_url = f"/api/sites/{site['id']}/inverters/{other['id']}/limits"
    assert (await asset_client.get(other_url, params={"from": iso(T0), "to": iso(T0 + DAY)}, headers=op)).json()[
        "limits"
    ] == []
    poc = f"/api/sites/{site['id']}/limits"
    assert (await asset_client.get(poc, params={"from": iso(T0), "to": iso(T0 + DAY)}, headers=op)).json()[
        "limits"
    ] == []
    # Unknown inverter / inverter of another site: 404.
    for bad_url in (
        f"/api/sites/{site['id']}/inverters/NOPE/limits",
        f"/api/sites/NOPE_SITE_1/inverters/{inv['id']}/limits",
    ):
        assert (await asset_client.put(bad_url, json={"limits": day}, headers=op)).status_code == 404
        assert (
            await asset_client.get(bad_url, params={"from": iso(T0), "to": iso(T0 + DAY)}, headers=op)
        ).status_code == 404
    # Deleting the inverter deletes its limits (a recreated inverter gets a new id anyway).
    assert (await asset_client.delete(f"/api/sites/{site['id']}/inverters/{inv['id']}", headers=op)).status_code == 204
    assert (await asset_client.get(url, params={"from": iso(T0), "to": iso(T0 + DAY)}, headers=op)).status_code == 404


async def test_dst_days(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    """A local delivery day submitted as one period expands to 92 / 100 quarter hours on DST days."""
    op = internal_headers(company_id, "operator")
    sites = {
        "DE": await make_site(asset_client, op),
        "PL": await make_site(asset_client, op, code="pl", region="PL", delivery_area="PSE"),
    }
    for region, site in sites.items():
        for day, expected in ((date(2026, 3, 29), 92), (date(2026, 10, 25), 100), (date(2026, 6, 1), 96)):
            start, end = delivery_day_bounds(day, region)
            url = f"/api/sites/{site['id']}/limits"
            r = await asset_client.put(
                url,
                json={"limits": [{"start_time": iso(start), "end_time": iso(end), "max_import_from_grid": mw(1)}]},
                headers=op,
            )
            assert r.status_code == 200 and r.json()["rows"] == expected, (region, day, r.text)
            got = await asset_client.get(url, params={"from": iso(start), "to": iso(end), "limit": 1000}, headers=op)
            starts = [p["start_time"] for p in got.json()["limits"]]
            assert starts == [iso(t) for t in quarter_hours(day, region)]


async def test_tenant_isolation(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    site = await make_site(asset_client, op)
    inv = await make_inverter(asset_client, op, site["id"], [asset])
    day = {"limits": [{"start_time": iso(T0), "end_time": iso(T0 + Q), "max_import_from_grid": mw(1)}]}
    assert (await asset_client.put(f"/api/sites/{site['id']}/limits", json=day, headers=op)).status_code == 200
    other = internal_headers(company_id + 500_000, "admin")
    s, i = site["id"], inv["id"]
    window = {"from": iso(T0), "to": iso(T0 + DAY)}
    inv_body = {"rated_power": mw(1), "charge_efficiency": 1, "discharge_efficiency": 1, "asset_ids": [asset]}
    calls = [
        ("GET", f"/api/sites/{s}", None, None),
        ("PATCH", f"/api/sites/{s}", {"name": "hijack"}, None),
        ("DELETE", f"/api/sites/{s}", None, None),
        ("GET", f"/api/sites/{s}/limits", None, window),
        ("PUT", f"/api/sites/{s}/limits", day, None),
        ("GET", f"/api/sites/{s}/inverters", None, None),
        ("POST", f"/api/sites/{s}/inverters", inv_body, None),
        ("GET", f"/api/sites/{s}/inverters/{i}", None, None),
        ("PATCH", f"/api/sites/{s}/inverters/{i}", {"charge_efficiency": 0.5}, None),
        ("DELETE", f"/api/sites/{s}/inverters/{i}", None, None),
        ("GET", f"/api/sites/{s}/inverters/{i}/limits", None, window),
        ("PUT", f"/api/sites/{s}/inverters/{i}/limits", day, None),
    ]
    for method, url, body, params in calls:
        r = await asset_client.request(method, url, json=body, params=params, headers=other)
        assert r.status_code == 404, (method, url, r.text)
    assert (await asset_client.get("/api/sites", headers=other)).json()["sites"] == []
    assert (await asset_client.get("/api/sites", params={"asset_id": asset}, headers=other)).json()["sites"] == []
    # The other tenant's own site cannot reference this tenant's asset.
    theirs = await make_site(asset_client, other)
    r = await asset_client.post(f"/api/sites/{theirs['id']}/inverters", json=inv_body, headers=other)
    assert r.status_code == 422
    # Same code in another tenant: its own sequence.
    assert theirs["id"] == "DE_AMPN_IMMST_SITE_1"
    # Nothing changed for the owner.
    mine = (await asset_client.get(f"/api/sites/{s}", headers=op)).json()
    assert mine == {**site, "inverters": [inv]}


async def test_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    site = await make_site(asset_client, op)
    s = site["id"]
    window = {"from": iso(T0), "to": iso(T0 + DAY)}
    day = {"limits": [{"start_time": iso(T0), "end_time": iso(T0 + Q)}]}
    writes = [
        ("POST", "/api/sites", SITE),
        ("PATCH", f"/api/sites/{s}", {"name": "x"}),
        ("DELETE", f"/api/sites/{s}", None),
        ("PUT", f"/api/sites/{s}/limits", day),
        ("POST", f"/api/sites/{s}/inverters", {"rated_power": mw(1)}),
    ]
    for role in ("member", "device"):
        for method, url, body in writes:
            r = await asset_client.request(method, url, json=body, headers=internal_headers(company_id, role))
            assert r.status_code == 403, (role, method, url, r.text)
    device = internal_headers(company_id, "device")
    for url, params in (("/api/sites", None), (f"/api/sites/{s}", None), (f"/api/sites/{s}/limits", window)):
        assert (await asset_client.get(url, params=params, headers=device)).status_code == 403
        assert (await asset_client.get(url, params=params)).status_code == 401
    admin = internal_headers(company_id, "admin")
    assert (await asset_client.patch(f"/api/sites/{s}", json={"name": "ok"}, headers=admin)).status_code == 200


async def test_events(asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    site = await make_site(asset_client, op)
    s = site["id"]
    inv = await make_inverter(asset_client, op, s, [asset])
    await asset_client.patch(f"/api/sites/{s}/inverters/{inv['id']}", json={"charge_efficiency": 0.5}, headers=op)
    day = {"limits": [{"start_time": iso(T0), "end_time": iso(T0 + DAY), "max_import_from_grid": mw(1)}]}
    await asset_client.put(f"/api/sites/{s}/limits", json=day, headers=op)
    await asset_client.put(f"/api/sites/{s}/inverters/{inv['id']}/limits", json=day, headers=op)
    await asset_client.put(f"/api/sites/{s}/limits", json={"limits": []}, headers=op)  # refused: no event
    await asset_client.delete(f"/api/sites/{s}/inverters/{inv['id']}", headers=op)
    await asset_client.patch(f"/api/sites/{s}", json={"name": "N"}, headers=op)
    await asset_client.delete(f"/api/sites/{s}", headers=op)
    async with asset_app.state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT key, payload FROM asset.outbox WHERE topic = 'assets.site.v1' "
                    "AND payload->>'companyid' = :c ORDER BY seq"
                ),
                {"c": str(company_id)},
            )
        ).all()
    assert all(r.key == s and r.payload["subject"] == s for r in rows)
    assert [r.payload["type"].removeprefix("org.gridcommons.assets.site.") for r in rows] == [
        "created",
        "inverter-added",
        "inverter-updated",
        "poc-limits-upserted",
        "inverter-limits-upserted",
        "inverter-removed",
        "updated",
        "deleted",
    ]
    data = [r.payload["data"] for r in rows]
    assert data[0]["id"] == s and data[0]["dispatch_mode"]["name"] == "PRICE_BASED"
    assert data[1]["asset_ids"] == [asset] and data[2]["charge_efficiency"] == "0.5"
    assert data[3] == {
        "site_id": s,
        "rows": 96,
        "start_time": iso(T0),
        "end_time": iso(T0 + DAY),
        "periods": [
            {
                "start_time": iso(T0),
                "end_time": iso(T0 + DAY),
                "max_import_from_grid": {"amount": "1", "unit": "MW"},
                "max_export_to_grid": None,
            }
        ],
    }
    assert data[4]["inverter_id"] == inv["id"] and data[5] == {"id": inv["id"], "site_id": s}
    assert data[6]["name"] == "N" and data[7] == {"id": s}


# -- properties --------------------------------------------------------------------------------

limit_values = st.one_of(
    st.none(), st.decimals(min_value=0, max_value=Decimal(10**6), places=3, allow_nan=False, allow_infinity=False)
)


@PROPERTY
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 24), st.integers(1, 6), limit_values, limit_values), min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    )
)
async def test_property_limit_upserts_match_reference(
    asset_client: httpx.AsyncClient, internal_headers, batches: list[list[tuple[int, int, Any, Any]]]
) -> None:
    """Batches of periods (slot offset, length in quarter hours, import, export): after each batch the
    stored quarter hours equal a dict updated slot by slot (overlapping batches are refused whole)."""
    company = next(_companies)
    op = internal_headers(company, "operator")
    site = await make_site(asset_client, op)
    url = f"/api/sites/{site['id']}/limits"
    reference: dict[int, tuple[Any, Any]] = {}
    for batch in batches:
        slots = [s for start, length, _, _ in batch for s in range(start, start + length)]
        overlapping = len(slots) != len(set(slots))
        body = {
            "limits": [
                {
                    "start_time": iso(T0 + start * Q),
                    "end_time": iso(T0 + (start + length) * Q),
                    "max_import_from_grid": None if imp is None else mw(str(imp)),
                    "max_export_to_grid": None if exp is None else mw(str(exp)),
                }
                for start, length, imp, exp in batch
            ]
        }
        r = await asset_client.put(url, json=body, headers=op)
        assert r.status_code == (422 if overlapping else 200), r.text
        if not overlapping:
            assert r.json()["rows"] == len(slots)
            for start, length, imp, exp in batch:
                for s in range(start, start + length):
                    reference[s] = (imp, exp)
    got = await asset_client.get(url, params={"from": iso(T0), "to": iso(T0 + DAY), "limit": 1000}, headers=op)
    stored = {
        int((datetime.fromisoformat(p["start_time"]) - T0) / Q): (
            None if p["max_import_from_grid"] is None else Decimal(p["max_import_from_grid"]["amount"]),
            None if p["max_export_to_grid"] is None else Decimal(p["max_export_to_grid"]["amount"]),
        )
        for p in got.json()["limits"]
    }
    assert stored == reference
