from __future__ import annotations

import httpx

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
    ready = await asset_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    metrics = await asset_client.get("/metrics")
    assert "http_requests_total" in metrics.text


async def test_ids_restart_after_a_clean_state(
    asset_client: httpx.AsyncClient, internal_headers, truncate_schemas
) -> None:
    await truncate_schemas("asset")
    op = internal_headers(7, "operator")
    first = await asset_client.post("/api/assets", json={**BODY, "code": "zz-1"}, headers=op)
    assert first.json()["id"] == "DE_50HZ_ZZ_1_1"
