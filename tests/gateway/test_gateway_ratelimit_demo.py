"""Login throttling, bootstrap superuser, the demo tenant, workers."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from gwhelpers import bearer, client_for, register, unique

from gateway import workers
from gateway.app import create_app
from gateway.auth import passwords
from gateway.auth.ratelimit import SlidingWindow
from gateway.demo import ensure_demo_tenant
from gateway.settings import GatewaySettings
from gridcommons.testing.plugin import Stack


async def _core_login(c: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    csrf = (await c.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
    return await c.post("/api/core/login", data={"username": name, "password": password, "csrfmiddlewaretoken": csrf})


async def test_guessing_does_not_lock_the_owner_out(gateway_app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    name, password = user["user"]["username"], user["password"]
    # the owner has logged in from here before: a known-good address for the account
    assert (await client.post("/auth/login", json={"username": name, "password": password})).status_code == 200
    for i in range(10):  # a guesser spread over addresses trips the account-wide limit
        async with client_for(gateway_app) as c:
            r = await c.post("/auth/login", json={"username": name, "password": f"wrong-{i}"})
            assert r.status_code == 400
    async with client_for(gateway_app) as stranger:  # even the right password, from an unknown address
        for r in (
            await stranger.post("/auth/login", json={"username": name, "password": password}),
            await stranger.post("/auth/token", data={"grant_type": "password", "username": name, "password": password}),
            await _core_login(stranger, name, password),
        ):
            assert r.status_code == 429, r.text
            assert 1 <= int(r.headers["retry-after"]) <= 300
    # the owner still gets in through every door from the known-good address
    assert (await client.post("/auth/login", json={"username": name, "password": password})).status_code == 200
    r = await client.post("/auth/token", data={"grant_type": "password", "username": name, "password": password})
    assert r.status_code == 200
    assert (await _core_login(client, name, password)).status_code == 200
    # other users are not affected
    other = await register(client)
    assert (
        await client.post("/auth/login", json={"username": other["user"]["username"], "password": other["password"]})
    ).status_code == 200


async def test_guessing_from_one_address_locks_that_address_out(
    gateway_app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    name, password = user["user"]["username"], user["password"]
    assert (await client.post("/auth/login", json={"username": name, "password": password})).status_code == 200
    async with client_for(gateway_app) as guesser:
        assert (await guesser.post("/auth/login", json={"username": name, "password": password})).status_code == 200
        for i in range(10):  # per (account, address): a known-good address is no free pass for guessing
            r = await guesser.post("/auth/login", json={"username": name, "password": f"wrong-{i}"})
            assert r.status_code == 400
        r = await guesser.post("/auth/login", json={"username": name, "password": password})
        assert r.status_code == 429
    assert (await client.post("/auth/login", json={"username": name, "password": password})).status_code == 200


async def test_guessing_a_client_id_does_not_lock_the_device_out(
    gateway_app: FastAPI, client: httpx.AsyncClient, tenant: dict
) -> None:
    r = await client.post(
        "/api/gateway/machine-clients",
        json={"name": "meter"},
        headers=bearer(tenant["admin"]["token"]) | {"CompanyID": str(tenant["id"])},
    )
    mc = r.json()
    good = {"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": mc["client_secret"]}
    async with client_for(gateway_app) as device:
        assert (await device.post("/auth/token", data=good)).status_code == 200
        for _ in range(10):
            async with client_for(gateway_app) as c:
                r = await c.post("/auth/token", data=good | {"client_secret": "x" * 43})
                assert r.status_code == 401
        async with client_for(gateway_app) as stranger:
            assert (await stranger.post("/auth/token", data=good)).status_code == 429
        assert (await device.post("/auth/token", data=good)).status_code == 200


async def test_registration_is_limited_per_address(migrated: Stack) -> None:
    app = create_app(GatewaySettings(), configure_logs=False)  # default limit: 10 per address and hour
    async with app.router.lifespan_context(app), client_for(app) as c:
        for _ in range(10):
            await register(c)
        name = unique()
        r = await c.post(
            "/auth/register", json={"username": name, "email": f"{name}@example.com", "password": "long-enough-pw"}
        )
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 3600
        async with client_for(app) as elsewhere:
            await register(elsewhere)


async def test_argon2_work_is_bounded(migrated: Stack) -> None:
    stored = await passwords.hash_password("a-password")
    try:
        passwords.configure(1)
        passwords.slots.peak = 0
        results = await asyncio.gather(*(passwords.verify_password(f"guess-{i}", stored) for i in range(4)))
        assert [ok for ok, _ in results] == [False] * 4
        assert passwords.slots.peak == 1
        # the gateway applies its setting
        app = create_app(GatewaySettings(password_hash_concurrency=2), configure_logs=False)
        assert app.state.login_throttle is not None and passwords.slots.limit == 2
        passwords.slots.peak = 0
        await asyncio.gather(*(passwords.verify_password(f"guess-{i}", stored) for i in range(6)))
        assert 1 <= passwords.slots.peak <= 2
    finally:
        passwords.configure(0)


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
    assert [w.name for w in built] == ["outbox-relay[gateway]", "gateway.consumers"]
