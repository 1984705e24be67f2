"""Login throttling, bootstrap superuser, the demo tenant, workers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from gwhelpers import bearer, client_for, register, unique

from gateway import workers
from gateway.app import create_app
from gateway.auth.ratelimit import SlidingWindow
from gateway.demo import ensure_demo_tenant
from gateway.settings import GatewaySettings
from gridcommons.testing.plugin import Stack


async def test_brute_force_on_a_username_gets_429(gateway_app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    name = user["user"]["username"]
    for i in range(10):  # spread over addresses: the per-username limit trips
        async with client_for(gateway_app) as c:
            r = await c.post("/auth/login", json={"username": name, "password": f"wrong-{i}"})
            assert r.status_code == 400
    for path, kwargs in (
        ("/auth/login", {"json": {"username": name, "password": user["password"]}}),
        ("/auth/token", {"data": {"grant_type": "password", "username": name, "password": user["password"]}}),
    ):
        r = await client.post(path, **kwargs)  # even the right password, from another address
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 300
    csrf = (await client.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
    r = await client.post(
        "/api/core/login", data={"username": name, "password": user["password"], "csrfmiddlewaretoken": csrf}
    )
    assert r.status_code == 429
    # other users are not affected
    other = await register(client)
    assert (
        await client.post("/auth/login", json={"username": other["user"]["username"], "password": other["password"]})
    ).status_code == 200


async def test_brute_force_from_one_address_gets_429(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        r = await client.post(
            "/auth/token", data={"grant_type": "password", "username": unique("guess"), "password": "guess-guess"}
        )
        assert r.status_code == 400
    r = await client.post("/auth/login", json={"username": unique("guess"), "password": "guess-guess"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    r = await client.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert r.status_code == 429


def test_sliding_window() -> None:
    w = SlidingWindow(limit=3, window=10)
    for t in (0, 1, 2):
        assert w.retry_after("k", now=t) is None
        w.record("k", now=t)
    assert w.retry_after("k", now=5) == 5  # oldest of the last 3 (t=0) leaves at 10
    assert w.retry_after("k", now=10.5) is None
    w.reset("k")
    assert w.retry_after("k", now=11) is None


async def test_bootstrap_superuser_is_idempotent(migrated: Stack) -> None:
    name = unique("root")
    for password in ("first-password", "first-password", "second-password"):
        app = create_app(GatewaySettings(bootstrap_superuser=f"{name}:{password}"), configure_logs=False)
        async with app.router.lifespan_context(app), client_for(app) as c:
            r = await c.post("/auth/token", data={"grant_type": "password", "username": name, "password": password})
            assert r.status_code == 200, r.text
            principal = await app.state.authenticator.authenticate(f"Bearer {r.json()['access_token']}")
            assert principal.superuser
            if password == "second-password":  # the password was updated in place
                old = await c.post(
                    "/auth/token", data={"grant_type": "password", "username": name, "password": "first-password"}
                )
                assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


async def test_demo_tenant(gateway_app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await ensure_demo_tenant(gateway_app.state.sessionmaker)
    again = await ensure_demo_tenant(gateway_app.state.sessionmaker)
    assert first == again
    cid = first["company_id"]
    assert first["device"] == {"client_id": "demo-device", "client_secret": "demo-device-secret", "company_id": cid}
    auth = gateway_app.state.authenticator
    for role, user in first["users"].items():
        r = await client.post(
            "/auth/token", data={"grant_type": "password", "username": user["username"], "password": user["password"]}
        )
        assert r.status_code == 200, r.text
        principal = await auth.authenticate(f"Bearer {r.json()['access_token']}")
        assert (await auth.identity_for(principal, str(cid))).roles == frozenset({role})
    r = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-device", "client_secret": "demo-device-secret"},
    )
    assert r.status_code == 200
    device = await auth.authenticate(f"Bearer {r.json()['access_token']}")
    assert (await auth.identity_for(device, str(cid))).roles == frozenset({"device"})
    r = await client.post("/auth/login", json={"username": "superuser", "password": "superuser-pass"})
    assert r.status_code == 200
    companies = await client.get("/api/gateway/companies", headers=bearer(r.json()["token"]))
    assert any(c["name"] == "Demo Energy Community" for c in companies.json())


def test_workers_build(migrated: Stack) -> None:
    settings = workers.load_settings()
    built = workers.build(settings, engine=None)  # type: ignore[arg-type]
    assert [w.name for w in built] == ["outbox-relay[gateway]"]
