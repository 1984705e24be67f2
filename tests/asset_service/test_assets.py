from __future__ import annotations

import httpx
from asset_helpers import outbox_events as _events

from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready

BODY = {
    "code": "wu",
    "name": "Wustermark",
    "type": "BESS",
    "region": "DE",
    "delivery_area": "50HZ",
    "provider": "ENTELIOS",
}


async def test_create_get_list(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    r = await asset_client.post("/api/assets", json=BODY, headers=op)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["id"] == "DE_50HZ_WU_1"
    assert first["lifecycle"] == "DRAFT" and first["go_live_date"] is None
    r2 = await asset_client.post("/api/assets", json=BODY, headers=op)
    assert r2.json()["id"] == "DE_50HZ_WU_2"

    member = internal_headers(company_id, "member")
    got = await asset_client.get(f"/api/assets/{first['id']}", headers=member)
    assert got.status_code == 200 and got.json() == first

    listed = await asset_client.get("/api/assets", params={"limit": 1, "offset": 1}, headers=member)
    assert listed.json()["limit"] == 1 and [a["id"] for a in listed.json()["assets"]] == ["DE_50HZ_WU_2"]
    filtered = await asset_client.get("/api/assets", params={"type": "PV"}, headers=member)
    assert filtered.json()["assets"] == []


async def test_other_tenant_gets_404(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    created = await asset_client.post("/api/assets", json=BODY, headers=internal_headers(company_id, "admin"))
    asset_id = created.json()["id"]
    other = internal_headers(company_id + 500_000, "admin")
    assert (await asset_client.get(f"/api/assets/{asset_id}", headers=other)).status_code == 404
    assert (await asset_client.get("/api/assets", headers=other)).json()["assets"] == []


async def test_roles_and_identity(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    assert (await asset_client.get("/api/assets")).status_code == 401
    bad = {"x-gridcommons-identity": "not-a-token"}
    assert (await asset_client.get("/api/assets", headers=bad)).status_code == 401
    r = await asset_client.post("/api/assets", json=BODY, headers=internal_headers(company_id, "member"))
    assert r.status_code == 403
    r = await asset_client.get("/api/assets", headers=internal_headers(company_id, "device"))
    assert r.status_code == 403
    r = await asset_client.get("/api/assets", headers=internal_headers(None, "admin"))
    assert r.status_code == 400


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    for body in (
        {**BODY, "type": "NUCLEAR"},
        {**BODY, "extra": 1},
        {k: v for k, v in BODY.items() if k != "name"},
        {**BODY, "region": "PL"},  # 50HZ is not a Polish delivery area
    ):
        r = await asset_client.post("/api/assets", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    r = await asset_client.post("/api/assets", content=b"{not json", headers={**op, "content-type": "application/json"})
    assert r.status_code == 422
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        assert (await asset_client.get("/api/assets", params=params, headers=op)).status_code == 422
    listed = await asset_client.get("/api/assets", headers=op)
    assert listed.json()["assets"] == []


async def test_health(asset_client: httpx.AsyncClient) -> None:
    assert (await asset_client.get("/healthz")).json() == {"status": "ok"}
    ready = await wait_ready(asset_client)  # the in-process relay and consumers connected and assigned
    assert ready.status_code == 200, ready.text
    workers = ready.json()["checks"]["workers"]
    assert {"outbox-relay[asset]", "asset-service.consumers"} <= set(workers)
    # one Kafka consumer for the replicas' and the ingestion consumers
    assert {"asset-service.statuses", "asset-service.dispatches"} <= set(
        workers["asset-service.consumers"]["consumers"]
    )
    metrics = await asset_client.get("/metrics")
    assert "http_requests_total" in metrics.text


async def test_ids_restart_after_a_clean_state(
    asset_client: httpx.AsyncClient, internal_headers, truncate_schemas
) -> None:
    await truncate_schemas("asset")
    op = internal_headers(7, "operator")
    first = await asset_client.post("/api/assets", json={**BODY, "code": "zz-1"}, headers=op)
    assert first.json()["id"] == "DE_50HZ_ZZ_1_1"


# --- list filters, PATCH, DELETE (H5) ---------------------------------------------------------


async def test_list_filters(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    specs = [
        {**BODY, "code": "a", "type": "BESS", "region": "DE", "delivery_area": "50HZ", "provider": "ENTELIOS"},
        {**BODY, "code": "b", "type": "PV", "region": "DE", "delivery_area": "TNBW", "provider": "EBX"},
        {**BODY, "code": "c", "type": "PV", "region": "PL", "delivery_area": "PSE", "provider": "EBX"},
    ]
    ids = [(await asset_client.post("/api/assets", json=s, headers=op)).json()["id"] for s in specs]
    await asset_client.post(f"/api/assets/{ids[2]}/actions/commission", headers=op)
    cases = {
        (("type", "PV"),): [ids[1], ids[2]],
        (("region", "DE"),): [ids[0], ids[1]],
        (("delivery_area", "PSE"),): [ids[2]],
        (("provider", "EBX"),): [ids[1], ids[2]],
        (("lifecycle", "COMMISSIONING"),): [ids[2]],
        (("lifecycle", "DRAFT"), ("type", "PV")): [ids[1]],
        (("region", "PL"), ("provider", "ENTELIOS")): [],
        (): ids,
    }
    member = internal_headers(company_id, "member")
    for params, expected in cases.items():
        r = await asset_client.get("/api/assets", params=dict(params), headers=member)
        assert r.status_code == 200 and [a["id"] for a in r.json()["assets"]] == expected, params
    for bad in (
        {"type": "NUCLEAR"},
        {"region": "FR"},
        {"lifecycle": "ALIVE"},
        {"delivery_area": "X"},
        {"provider": "Y"},
    ):
        assert (await asset_client.get("/api/assets", params=bad, headers=member)).status_code == 422


async def test_patch(asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack) -> None:
    op = internal_headers(company_id, "operator")
    asset = (await asset_client.post("/api/assets", json=BODY, headers=op)).json()
    url = f"/api/assets/{asset['id']}"
    r = await asset_client.patch(url, json={"name": "Wustermark II", "go_live_date": "2026-04-01"}, headers=op)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["name"] == "Wustermark II" and patched["go_live_date"] == "2026-04-01"
    assert {k: v for k, v in patched.items() if k not in ("name", "go_live_date", "updated_at")} == {
        k: v for k, v in asset.items() if k not in ("name", "go_live_date", "updated_at")
    }
    assert patched["updated_at"] > asset["updated_at"]
    r = await asset_client.patch(url, json={"type": "VBAT", "provider": "TERRALAYR"}, headers=op)
    assert r.json()["type"] == "VBAT" and r.json()["provider"] == "TERRALAYR" and r.json()["name"] == "Wustermark II"
    # explicit null clears go_live_date
    r = await asset_client.patch(url, json={"go_live_date": None}, headers=op)
    assert r.json()["go_live_date"] is None
    # a patch that changes nothing: same record, updated_at untouched, no event
    same = await asset_client.patch(url, json={"type": "VBAT"}, headers=op)
    empty = await asset_client.patch(url, json={}, headers=op)
    assert same.json() == r.json() == empty.json()
    assert (await asset_client.get(url, headers=op)).json() == r.json()

    events = await _events(stack, company_id, "org.gridcommons.assets.asset.updated")
    assert len(events) == 3 and {e["topic"] for e in events} == {"assets.asset.v1"}
    assert events[-1]["data"] == r.json() and events[-1]["key"] == asset["id"]


async def test_patch_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = (await asset_client.post("/api/assets", json=BODY, headers=op)).json()
    url = f"/api/assets/{asset['id']}"
    for body, needle in (
        ({"lifecycle": "LIVE"}, "lifecycle cannot be patched"),
        ({"code": "xx"}, "cannot be changed"),
        ({"region": "PL"}, "cannot be changed"),
        ({"delivery_area": "AMPN"}, "cannot be changed"),
        ({"id": "X"}, "cannot be changed"),
        ({"name": None}, "cannot be null"),
        ({"type": None}, "cannot be null"),
        ({"provider": None}, "cannot be null"),
        ({"name": ""}, "at least 1"),
        ({"name": "x" * 256}, "at most 255"),
        ({"type": "NUCLEAR"}, "BESS"),
        ({"provider": "ACME"}, "ENERGIEKOPPLER"),
        ({"go_live_date": "2026-02-30"}, "date"),
        ({"colour": "red"}, "Extra inputs"),
        ({"name": "nul\x00"}, "NUL"),
    ):
        r = await asset_client.patch(url, json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
        assert needle in r.text and isinstance(r.json()["detail"], list), (body, r.text)
    assert (await asset_client.get(url, headers=op)).json() == asset
    assert (await asset_client.patch("/api/assets/A%00B", json={"name": "x"}, headers=op)).status_code == 422
    other = internal_headers(company_id + 500_000, "admin")
    assert (await asset_client.patch(url, json={"name": "x"}, headers=other)).status_code == 404
    assert (await asset_client.patch("/api/assets/NOPE_1", json={"name": "x"}, headers=op)).status_code == 404
    assert (
        await asset_client.patch(url, json={"name": "x"}, headers=internal_headers(company_id, "member"))
    ).status_code == 403
    assert (
        await asset_client.patch(url, json={"name": "x"}, headers=internal_headers(company_id, "device"))
    ).status_code == 403
    assert (await asset_client.get(url, headers=op)).json() == asset


async def test_delete(asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack) -> None:
    op = internal_headers(company_id, "operator")
    draft = (await asset_client.post("/api/assets", json=BODY, headers=op)).json()
    live = (await asset_client.post("/api/assets", json=BODY, headers=op)).json()
    for action in ("commission", "go-live"):
        assert (await asset_client.post(f"/api/assets/{live['id']}/actions/{action}", headers=op)).status_code == 200
    # dependent rows: a status of each
    statuses = {
        "statuses": [
            {"asset_id": a["id"], "status": "AVAILABLE", "effective_at": "2026-01-01T00:00:00Z"} for a in (draft, live)
        ]
    }
    assert (await asset_client.post("/api/ingest/asset-statuses", json=statuses, headers=op)).status_code == 200

    other = internal_headers(company_id + 500_000, "admin")
    assert (await asset_client.delete(f"/api/assets/{draft['id']}", headers=other)).status_code == 404
    assert (
        await asset_client.delete(f"/api/assets/{draft['id']}", headers=internal_headers(company_id, "member"))
    ).status_code == 403
    r = await asset_client.delete(f"/api/assets/{draft['id']}", headers=op)
    assert r.status_code == 204 and r.content == b""
    assert (await asset_client.get(f"/api/assets/{draft['id']}", headers=op)).status_code == 404
    assert (await asset_client.delete(f"/api/assets/{draft['id']}", headers=op)).status_code == 404
    # its statuses went with it
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": draft["id"], "latest": True}, headers=op)
    assert r.json()["statuses"] == []

    for action, state in (("", "LIVE"), ("suspend", "SUSPENDED")):
        if action:
            await asset_client.post(f"/api/assets/{live['id']}/actions/{action}", headers=op)
        r = await asset_client.delete(f"/api/assets/{live['id']}", headers=op)
        assert r.status_code == 409
        assert r.json() == {
            "detail": f"Asset {live['id']} is {state}: only DRAFT or DECOMMISSIONED assets can be deleted"
        }
    await asset_client.post(f"/api/assets/{live['id']}/actions/resume", headers=op)
    await asset_client.post(f"/api/assets/{live['id']}/actions/decommission", headers=op)
    assert (await asset_client.delete(f"/api/assets/{live['id']}", headers=op)).status_code == 204

    events = await _events(stack, company_id, "org.gridcommons.assets.asset.deleted")
    assert [e["key"] for e in events] == [draft["id"], live["id"]]
    assert events[0]["data"] == draft and events[1]["data"]["lifecycle"] == "DECOMMISSIONED"
    # ids are never reused after a delete
    again = (await asset_client.post("/api/assets", json=BODY, headers=op)).json()
    assert again["id"] == "DE_50HZ_WU_3"
