"""Statuses the document promises, answered as documented: 405 with the path's methods in Allow,
413 over the body limit (per route), 409, 400 and 429 with their bodies."""

from __future__ import annotations

from .conftest import Edge, bearer


async def test_405_allow_lists_every_method_of_the_path(edge: Edge) -> None:
    a = await edge.company()
    operator = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    body = {"code": "al", "name": "Allow", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    asset = (await edge.client.post("/api/assets", json=body, headers=operator)).json()["id"]
    # A proxied path: the asset-service has GET, PATCH and DELETE on it.
    for method in ("OPTIONS", "PUT", "POST"):
        r = await edge.client.request(method, f"/api/assets/{asset}", headers=operator)
        assert r.status_code == 405, (method, r.text)
        assert r.headers["allow"] == "DELETE, GET, PATCH" and r.json() == {"detail": "Method Not Allowed"}
    r = await edge.client.request("OPTIONS", "/api/assets", headers=operator)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    # The gateway's own paths.
    root = bearer(await edge.superuser_token())
    r = await edge.client.request("OPTIONS", "/api/gateway/companies", headers=root)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
