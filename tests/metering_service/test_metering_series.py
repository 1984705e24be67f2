"""Series: create, list, read, update, retire; validation; roles and tenant isolation."""

from __future__ import annotations

import httpx
from metering_helpers import new_series


async def test_series_lifecycle(metering_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    body = {
        "external_key": "PRM 30001234567890/consumption",
        "kind": "instantaneous",
        "unit": "W",
        "name": "Load curve",
        "metadata": {"source": "enedis"},
    }
    r = await metering_client.post("/api/metering/series", json=body, headers=op)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["timezone"] == "Europe/Paris" and created["retired_at"] is None
    assert {k: created[k] for k in body} == body
    sid = created["id"]
    assert (await metering_client.get(f"/api/metering/series/{sid}", headers=op)).json() == created
    # the key is unique among live series
    again = await metering_client.post("/api/metering/series", json=body, headers=op)
    assert again.status_code == 409
    r = await metering_client.patch(
        f"/api/metering/series/{sid}", json={"name": None, "timezone": "Europe/Berlin"}, headers=op
    )
    assert r.status_code == 200 and r.json()["name"] is None and r.json()["timezone"] == "Europe/Berlin"
    assert r.json()["unit"] == "W" and r.json()["external_key"] == body["external_key"]
    # kind and unit never change
    assert (
        await metering_client.patch(f"/api/metering/series/{sid}", json={"unit": "kW"}, headers=op)
    ).status_code == 422
    listed = await metering_client.get(
        "/api/metering/series", params={"external_key": body["external_key"]}, headers=op
    )
    assert [s["id"] for s in listed.json()["series"]] == [sid]
    retired = await metering_client.post(f"/api/metering/series/{sid}/actions/retire", headers=op)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    # retiring twice keeps the first instant
    twice = await metering_client.post(f"/api/metering/series/{sid}/actions/retire", headers=op)
    assert twice.json()["retired_at"] == retired.json()["retired_at"]
    # the key is free again; the retired series is listed only on request
    successor = await metering_client.post("/api/metering/series", json=body, headers=op)
    assert successor.status_code == 201
    live = await metering_client.get("/api/metering/series", params={"external_key": body["external_key"]}, headers=op)
    assert [s["id"] for s in live.json()["series"]] == [successor.json()["id"]]
    both = await metering_client.get(
        "/api/metering/series", params={"external_key": body["external_key"], "include_retired": "true"}, headers=op
    )
    assert [s["id"] for s in both.json()["series"]] == [sid, successor.json()["id"]]


async def test_series_validation(metering_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "admin")
    good = {"external_key": "m-1/p", "kind": "instantaneous", "unit": "kW"}
    bad = [
        {**good, "unit": "furlong"},
        {**good, "kind": "sometimes"},
        {**good, "kind": "cumulative", "unit": "kW"},  # a counter counts energy
        {**good, "timezone": "Mars/Olympus"},
        {**good, "external_key": ""},
        {**good, "external_key": " padded"},
        {**good, "external_key": "nul\u0000"},
        {**good, "metadata": [1]},
        {**good, "color": "red"},
    ]
    for body in bad:
        r = await metering_client.post("/api/metering/series", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    listed = await metering_client.get("/api/metering/series", headers=op)
    assert listed.json()["series"] == []
    for path in ("/api/metering/series/0", "/api/metering/series/abc", "/api/metering/series/99999999999999999999"):
        assert (await metering_client.get(path, headers=op)).status_code == 422


async def test_roles_and_tenants(metering_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    mine = await new_series(metering_client, op)
    other = internal_headers(company_id + 100_000, "admin")
    sid = mine["id"]
    for method, path, body in (
        ("GET", f"/api/metering/series/{sid}", None),
        ("PATCH", f"/api/metering/series/{sid}", {"name": "x"}),
        ("POST", f"/api/metering/series/{sid}/actions/retire", None),
        ("GET", f"/api/metering/series/{sid}/readings", None),
    ):
        r = await metering_client.request(method, path, json=body, headers=other)
        assert r.status_code == 404, (method, path, r.text)
    assert (await metering_client.get("/api/metering/series", headers=other)).json()["series"] == []
    # the same external key in another company is another series
    twin = await metering_client.post(
        "/api/metering/series",
        json={"external_key": mine["external_key"], "kind": "cumulative", "unit": "kWh"},
        headers=other,
    )
    assert twin.status_code == 201 and twin.json()["id"] != sid
    for role in ("member", "device"):
        h = internal_headers(company_id, role)
        listed = await metering_client.get("/api/metering/series", headers=h)
        # a member reads the series linked to their units (none here); a device never reads
        assert listed.status_code == (200 if role == "member" else 403), listed.text
        assert (await metering_client.post("/api/metering/series", json={}, headers=h)).status_code == 403
    assert (await metering_client.get(f"/api/metering/series/{sid}")).status_code == 401
