"""POST /auth/token: password and client_credentials grants, RFC 6749 errors."""

from __future__ import annotations

import base64

import httpx
from gwhelpers import bearer, register


async def _machine_client(client: httpx.AsyncClient, tenant: dict, **body: object) -> dict:
    r = await client.post(
        "/api/gateway/machine-clients",
        json={"name": "meter gateway", **body},
        headers=bearer(tenant["admin"]["token"]) | {"CompanyID": str(tenant["id"])},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_password_grant(client: httpx.AsyncClient) -> None:
    user = await register(client)
    r = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": user["user"]["username"], "password": user["password"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer" and 3590 <= body["expires_in"] <= 3600
    assert r.headers["cache-control"] == "no-store"
    assert (await client.get("/auth/info", headers=bearer(body["access_token"]))).json() == user["user"]

    bad = await client.post(
        "/auth/token", data={"grant_type": "password", "username": user["user"]["username"], "password": "nope-nope"}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    missing = await client.post("/auth/token", data={"grant_type": "password", "username": user["user"]["username"]})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    no_grant = await client.post("/auth/token", data={"username": "a", "password": "b"})
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "invalid_request"
    other = await client.post("/auth/token", data={"grant_type": "authorization_code", "code": "x"})
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"


async def test_client_credentials_grant_and_revocation(client: httpx.AsyncClient, tenant: dict) -> None:
    mc = await _machine_client(client, tenant, request_budget_per_minute=120)
    assert set(mc) == {
        "client_id",
        "client_secret",
        "name",
        "company_id",
        "request_budget_per_minute",
        "created_at",
        "revoked_at",
    }
    assert mc["company_id"] == tenant["id"] and mc["request_budget_per_minute"] == 120

    form = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": mc["client_secret"]},
    )
    assert form.status_code == 200, form.text
    assert "refresh_token" not in form.json()  # RFC 6749 §4.4.3: none for client_credentials
    basic = base64.b64encode(f"{mc['client_id']}:{mc['client_secret']}".encode()).decode()
    via_basic = await client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert via_basic.status_code == 200, via_basic.text

    auth = client._transport.app.state.authenticator  # type: ignore[attr-defined]
    token = form.json()["access_token"]
    principal = await auth.authenticate(f"Bearer {token}")
    assert principal.kind == "client" and principal.subject == mc["client_id"]
    assert principal.company_id == tenant["id"] and principal.request_budget_per_minute == 120
    identity = await auth.identity_for(principal, str(tenant["id"]))
    assert identity.roles == frozenset({"device"}) and identity.kind == "client"

    wrong = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": "x" * 40},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    unknown = await client.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    nothing = await client.post("/auth/token", data={"grant_type": "client_credentials"})
    assert nothing.status_code == 401
    both = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": mc["client_secret"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    garbage = await client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!!"}
    )
    assert garbage.status_code == 401

    # machine clients have no user profile
    assert (await client.get("/auth/info", headers=bearer(token))).status_code == 403

    # revoke: its tokens die at once, and it can get no new ones
    admin = bearer(tenant["admin"]["token"]) | {"CompanyID": str(tenant["id"])}
    listed = await client.get("/api/gateway/machine-clients", headers=admin)
    assert [c["client_id"] for c in listed.json()] == [mc["client_id"]] and "client_secret" not in listed.json()[0]
    assert (await client.delete(f"/api/gateway/machine-clients/{mc['client_id']}", headers=admin)).status_code == 204
    r = await client.get("/auth/info", headers=bearer(token))
    assert r.status_code == 401
    r = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": mc["client_secret"]},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert (await client.delete(f"/api/gateway/machine-clients/{mc['client_id']}", headers=admin)).status_code == 404
    listed = await client.get("/api/gateway/machine-clients", headers=admin)
    assert listed.json()[0]["revoked_at"] is not None
