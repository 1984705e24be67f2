"""Seed 004 /api/core/*: csrftoken, login (double-submit CSRF), session, logout."""

from __future__ import annotations

import httpx
from gwhelpers import bearer, client_for, register


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
    # the session token is not a bearer token (only the cookie carries it), and logging in here
    # did not end the user's other sessions (the registration token)
    r = await client.get("/auth/info", headers=bearer(info["sessionid"]))
    assert r.status_code == 401 and "sessionid cookie" in r.json()["detail"]
    async with client_for(client._transport.app) as other:  # type: ignore[attr-defined]
        r = await other.get("/api/core/session", headers=bearer(info["sessionid"]))
        assert r.status_code == 403 and r.text == "login required"
    assert (await client.get("/auth/info", headers=bearer(user["token"]))).status_code == 200

    # logout: the cookie alone does not log out by GET (no cross-site logout) ...
    out = await client.get("/api/core/logout")
    assert out.status_code == 405 and out.headers["allow"] == "POST"
    assert (await client.get("/api/core/session")).status_code == 200
    # ... nor by POST without the CSRF token
    out = await client.post("/api/core/logout")
    assert out.status_code == 400 and out.content == b""
    assert (await client.get("/api/core/session")).status_code == 200
    out = await client.post("/api/core/logout", data={"csrfmiddlewaretoken": csrf})
    assert out.status_code == 200 and out.content == b""
    assert client.cookies.get("sessionid") is None
    client.cookies.set("sessionid", info["sessionid"])  # a copy of the cookie is dead too
    r = await client.get("/api/core/session")
    assert r.status_code == 403 and r.text == "login required"
    client.cookies.delete("sessionid")
    # logging out when not logged in is still 200 (GET or POST)
    assert (await client.get("/api/core/logout")).status_code == 200
    assert (await client.post("/api/core/logout")).status_code == 200
    # GET with a bearer header (no other site can send one) still logs that token out
    assert (await client.get("/api/core/logout", headers=bearer(user["token"]))).status_code == 200
    assert (await client.get("/auth/info", headers=bearer(user["token"]))).status_code == 401


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
