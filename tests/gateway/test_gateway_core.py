"""Seed 004 /api/core/*: csrftoken, login (double-submit CSRF), session, logout."""

from __future__ import annotations

import httpx
from gwhelpers import bearer, register


async def test_core_session_flow(client: httpx.AsyncClient) -> None:
    user = await register(client)
    name = user["user"]["username"]
    assert (await client.get("/api/core/session")).status_code == 403
    r = await client.get("/api/core/session")
    assert r.text == "login required" and r.headers["content-type"].startswith("text/plain")

    r = await client.get("/api/core/csrftoken")
    assert r.status_code == 200
    csrf = r.json()["csrfmiddlewaretoken"]
    assert set(r.json()) == {"csrfmiddlewaretoken"} and client.cookies.get("csrftoken") == csrf

    mismatch = await client.post(
        "/api/core/login", data={"username": name, "password": user["password"], "csrfmiddlewaretoken": "x" * 43}
    )
    assert mismatch.status_code == 400 and mismatch.content == b""
    no_token = await client.post("/api/core/login", data={"username": name, "password": user["password"]})
    assert no_token.status_code == 400
    bad = await client.post(
        "/api/core/login", data={"username": name, "password": "wrong-pass", "csrfmiddlewaretoken": csrf}
    )
    assert bad.status_code == 403 and bad.text == "login failed"
    empty = await client.post("/api/core/login", data={"csrfmiddlewaretoken": csrf})
    assert empty.status_code == 403 and empty.text == "login failed"

    ok = await client.post(
        "/api/core/login", data={"username": name, "password": user["password"], "csrfmiddlewaretoken": csrf}
    )
    assert ok.status_code == 200, ok.text
    info = ok.json()
    assert set(info) == {"sessionid", "expiry_age", "expiry_date", "user"}
    assert info["user"] == {"username": name, "last_name": "", "first_name": "", "email": f"{name}@example.com"}
    assert 1209590 <= info["expiry_age"] <= 1209600 and info["expiry_date"].endswith("Z")
    set_cookie = ok.headers["set-cookie"].lower()
    assert "sessionid=" in set_cookie and "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert client.cookies.get("sessionid") == info["sessionid"]

    by_cookie = await client.get("/api/core/session")
    assert by_cookie.status_code == 200 and by_cookie.json()["sessionid"] == info["sessionid"]
    assert by_cookie.json()["user"] == info["user"]
    # the session cookie is a bearer token for the gateway's own endpoints too
    assert (await client.get("/auth/info")).json() == user["user"]
    # ... but an unsafe cookie-authenticated request needs the CSRF header
    assert (await client.post("/auth/logout")).status_code == 403
    # the bearer header works as well, and the new login superseded the registration token
    assert (await client.get("/api/core/session", headers=bearer(info["sessionid"]))).status_code == 200
    assert (await client.get("/auth/info", headers=bearer(user["token"]))).status_code == 401

    out = await client.get("/api/core/logout")
    assert out.status_code == 200 and out.content == b""
    assert client.cookies.get("sessionid") is None
    r = await client.get("/api/core/session", headers=bearer(info["sessionid"]))
    assert r.status_code == 403 and r.text == "login required"
    # logging out when not logged in is still 200
    assert (await client.get("/api/core/logout")).status_code == 200


async def test_csrf_header_variant_and_cookie_reuse(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = (await client.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
    second = (await client.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
    assert first == second  # the cookie's token is reused
    ok = await client.post(
        "/api/core/login",
        data={"username": user["user"]["username"], "password": user["password"]},
        headers={"X-CSRFToken": first},
    )
    assert ok.status_code == 200
    r = await client.post("/auth/logout", headers={"X-CSRFToken": first})
    assert r.status_code == 204
    assert (await client.get("/api/core/session")).status_code == 403
