"""Seed 001 AuthAPI: register, login, logout, info."""

from __future__ import annotations

import httpx
from gwhelpers import bearer, register, unique


async def test_register_info_shapes(client: httpx.AsyncClient) -> None:
    name = unique("john")
    r = await client.post(
        "/auth/register", json={"username": name, "email": f"{name}@example.com", "password": "strong-password"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"user", "token"}
    assert set(body["user"]) == {"id", "username", "email"}
    assert body["user"]["username"] == name and body["user"]["email"] == f"{name}@example.com"
    info = await client.get("/auth/info", headers=bearer(body["token"]))
    assert info.status_code == 200
    assert info.json() == body["user"]


async def test_register_validation_and_duplicates(client: httpx.AsyncClient) -> None:
    user = await register(client)
    name = user["user"]["username"]
    dup = await client.post(
        "/auth/register", json={"username": name, "email": "x@example.com", "password": "long-enough-pw"}
    )
    assert dup.status_code == 409 and dup.json() == {"detail": "A user with that username already exists."}
    upper = await client.post(
        "/auth/register", json={"username": name.upper(), "email": "x@example.com", "password": "long-enough-pw"}
    )
    assert upper.status_code == 409
    for body in (
        {"username": "has space", "email": "a@example.com", "password": "long-enough-pw"},
        {"username": "", "email": "a@example.com", "password": "long-enough-pw"},
        {"username": "x" * 151, "email": "a@example.com", "password": "long-enough-pw"},
        {"username": unique(), "email": "not-an-email", "password": "long-enough-pw"},
        {"username": unique(), "email": "a@example.com", "password": "short"},
        {"username": unique(), "email": "a@example.com"},
    ):
        r = await client.post("/auth/register", json=body)
        assert r.status_code == 422, (body, r.text)
        assert isinstance(r.json()["detail"], list)
    ok = await client.post(
        "/auth/register", json={"username": f"a.b+c@d_{unique()}", "email": "a@b.co", "password": "12345678"}
    )
    assert ok.status_code == 201, ok.text


async def test_login_supersedes_previous_token_and_logout_revokes(client: httpx.AsyncClient) -> None:
    user = await register(client)
    creds = {"username": user["user"]["username"], "password": user["password"]}
    first = await client.post("/auth/login", json=creds)
    assert first.status_code == 200, first.text
    assert first.json()["user"] == user["user"] and first.json()["token"] != user["token"]
    # the registration token was superseded by the login
    assert (await client.get("/auth/info", headers=bearer(user["token"]))).status_code == 401
    token1 = first.json()["token"]
    assert (await client.get("/auth/info", headers=bearer(token1))).status_code == 200
    second = await client.post("/auth/login", json=creds)
    token2 = second.json()["token"]
    r = await client.get("/auth/info", headers=bearer(token1))
    assert r.status_code == 401 and r.json() == {"detail": "Token has been revoked"}
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/auth/info", headers=bearer(token2))).status_code == 200

    out = await client.post("/auth/logout", headers=bearer(token2))
    assert out.status_code == 204 and out.content == b""
    assert (await client.get("/auth/info", headers=bearer(token2))).status_code == 401
    assert (await client.post("/auth/logout", headers=bearer(token2))).status_code == 401


async def test_bad_login(client: httpx.AsyncClient) -> None:
    user = await register(client)
    r = await client.post("/auth/login", json={"username": user["user"]["username"], "password": "wrong-password"})
    assert r.status_code == 400 and r.json() == {"detail": "Unable to log in with provided credentials."}
    r = await client.post("/auth/login", json={"username": unique("nobody"), "password": "whatever-pw"})
    assert r.status_code == 400
    assert (await client.post("/auth/login", json={"username": "x"})).status_code == 422
    # the registration token is untouched by failed logins
    assert (await client.get("/auth/info", headers=bearer(user["token"]))).status_code == 200


async def test_missing_and_garbage_authorization(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/info")
    assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
    assert r.headers["www-authenticate"] == "Bearer"
    for header in (
        "Bearer",
        "Bearer ",
        "Basic abc",
        "garbage",
        "Bearer not.a.jwt",
        "Bearer " + "a" * 5000,
        "Bearer a.b.c",
    ):
        r = await client.get("/auth/info", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert set(r.json()) == {"detail"}
