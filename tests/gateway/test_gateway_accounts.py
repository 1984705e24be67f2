"""Accounts and sessions: invitations, client addresses behind proxies, sessions that do not end
each other, refresh tokens, password change, /metrics access."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI
from gwhelpers import bearer, client_for, make_company, register, unique
from sqlalchemy import text

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gridcommons.testing.plugin import Stack

INVITATION_KEYS = {"id", "company_id", "invitee", "role", "created_at", "expires_at"}


async def _invite(client: httpx.AsyncClient, company_id: int, token: str, **body: str) -> httpx.Response:
    return await client.post(f"/api/gateway/companies/{company_id}/invitations", json=body, headers=bearer(token))


async def test_invitations(gateway_app: FastAPI, client: httpx.AsyncClient, su: str) -> None:
    a = await make_company(client, su)
    b = await make_company(client, su)
    admin = a["admin"]["token"]
    outsider = await register(client)
    oid, oname, omail = outsider["user"]["id"], outsider["user"]["username"], outsider["user"]["email"]

    # only A's admins (or a superuser) invite; B's admin does not see A (404)
    assert (await _invite(client, a["id"], a["operator"]["token"], username=oname, role="member")).status_code == 403
    assert (await _invite(client, a["id"], b["admin"]["token"], username=oname, role="member")).status_code == 404
    assert (await _invite(client, a["id"], admin, role="member")).status_code == 422
    assert (await _invite(client, a["id"], admin, username=oname, email=omail, role="member")).status_code == 422

    # the same answer whether the invitee exists or not; nothing about the user is echoed
    first = await _invite(client, a["id"], admin, username=oname, role="member")
    ghost = await _invite(client, a["id"], admin, username=unique("nobody"), role="member")
    ghost_mail = await _invite(client, a["id"], admin, email=f"{unique('nobody')}@example.com", role="member")
    by_mail = await _invite(client, a["id"], admin, email=omail.upper(), role="operator")
    for r in (first, ghost, ghost_mail, by_mail):
        assert r.status_code == 202, r.text
        assert set(r.json()) == INVITATION_KEYS
    assert first.json()["invitee"] == oname and omail not in first.text  # no user id, e-mail or existence
    assert by_mail.json()["invitee"] == omail.upper()  # as typed
    created = datetime.fromisoformat(by_mail.json()["created_at"])
    expires = datetime.fromisoformat(by_mail.json()["expires_at"])
    assert round((expires - created).total_seconds() / 86400) == 7
    # the admin sees the pending invitations as typed (the e-mail one replaced the username one)
    listed = await client.get(f"/api/gateway/companies/{a['id']}/invitations", headers=bearer(admin))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()] == [ghost.json()["id"], ghost_mail.json()["id"], by_mail.json()["id"]]
    # ... and still no details of the outsider
    assert (
        await client.get(f"/admin/users/{oid}", headers=bearer(admin) | {"CompanyID": str(a["id"])})
    ).status_code == 404

    # the invited user sees their invitation with their own token; nobody else can take it
    mine = await client.get("/api/gateway/invitations", headers=bearer(outsider["token"]))
    assert [(i["id"], i["company_id"], i["company_name"], i["role"]) for i in mine.json()] == [
        (by_mail.json()["id"], a["id"], a["company"]["name"], "operator")
    ]
    accept = f"/api/gateway/invitations/{by_mail.json()['id']}/accept"
    assert (await client.post(accept, headers=bearer(a["member"]["token"]))).status_code == 404
    assert (await client.post(accept, headers=bearer(admin))).status_code == 404
    r = await client.post(accept, headers=bearer(outsider["token"]))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == a["id"] and r.json()["role"] == "operator"
    assert (await client.post(accept, headers=bearer(outsider["token"]))).status_code == 404  # used up
    companies = await client.get("/api/gateway/companies", headers=bearer(outsider["token"]))
    assert [(c["id"], c["role"]) for c in companies.json()] == [(a["id"], "operator")]
    auth = gateway_app.state.authenticator
    principal = await auth.authenticate(f"Bearer {outsider['token']}")
    assert (await auth.identity_for(principal, str(a["id"]))).roles == frozenset({"operator"})
    async with gateway_app.state.sessionmaker() as session:
        events = (
            await session.execute(
                text(
                    "SELECT payload->'data' AS d FROM gateway.outbox "
                    "WHERE topic = 'gateway.membership.v1' AND payload->'data'->>'user_id' = :u"
                ),
                {"u": str(oid)},
            )
        ).all()
    assert [(e.d["company_id"], e.d["role"]) for e in events] == [(a["id"], "operator")]
    # now a member: the admin changes the role as before; inviting a member is not delivered
    r = await client.put(
        f"/api/gateway/companies/{a['id']}/members/{oid}", json={"role": "member"}, headers=bearer(admin)
    )
    assert r.status_code == 200 and r.json()["role"] == "member"
    assert (await _invite(client, a["id"], admin, username=oname, role="admin")).status_code == 202
    assert (await client.get("/api/gateway/invitations", headers=bearer(outsider["token"]))).json() == []

    # decline: no membership; cancel: the invitee no longer sees it
    other = await register(client)
    inv = await _invite(client, a["id"], admin, username=other["user"]["username"], role="member")
    r = await client.post(f"/api/gateway/invitations/{inv.json()['id']}/decline", headers=bearer(other["token"]))
    assert r.status_code == 204
    assert (await client.get("/api/gateway/companies", headers=bearer(other["token"]))).json() == []
    inv = await _invite(client, a["id"], admin, username=other["user"]["username"], role="member")
    path = f"/api/gateway/companies/{a['id']}/invitations/{inv.json()['id']}"
    assert (await client.delete(path, headers=bearer(b["admin"]["token"]))).status_code == 404
    assert (await client.delete(path, headers=bearer(admin))).status_code == 204
    assert (await client.get("/api/gateway/invitations", headers=bearer(other["token"]))).json() == []

    # an expired invitation cannot be accepted
    inv = await _invite(client, a["id"], admin, username=other["user"]["username"], role="member")
    async with gateway_app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE gateway.invitations SET expires_at = now() - interval '1 second' WHERE id = :i"),
            {"i": inv.json()["id"]},
        )
        await session.commit()
    assert (await client.get("/api/gateway/invitations", headers=bearer(other["token"]))).json() == []
    r = await client.post(f"/api/gateway/invitations/{inv.json()['id']}/accept", headers=bearer(other["token"]))
    assert r.status_code == 404
    assert (await client.get("/api/gateway/companies", headers=bearer(other["token"]))).json() == []


async def test_forwarded_for_only_from_trusted_proxies(migrated: Stack) -> None:
    app = create_app(GatewaySettings(trusted_proxies=["10.77.0.1", "10.78.0.0/16"]), configure_logs=False)
    by_address = app.state.login_throttle.by_address
    async with app.router.lifespan_context(app):

        async def failed_login(peer: str, forwarded: str) -> None:
            async with client_for(app, address=peer) as c:
                r = await c.post(
                    "/auth/login",
                    json={"username": unique("nobody"), "password": "wrong-password"},
                    headers={"X-Forwarded-For": forwarded},
                )
                assert r.status_code == 400

        # from a trusted proxy: the right-most hop that is not a trusted proxy, never the left-most
        await failed_login("10.77.0.1", "203.0.113.9, 198.51.100.20")
        assert by_address.count("198.51.100.20") == 1
        assert by_address.count("203.0.113.9") == 0 and by_address.count("10.77.0.1") == 0
        await failed_login("10.77.0.1", "203.0.113.9, 198.51.100.21, 10.78.3.4")
        assert by_address.count("198.51.100.21") == 1
        # from anyone else the header means nothing
        await failed_login("10.77.0.2", "198.51.100.22")
        assert by_address.count("10.77.0.2") == 1 and by_address.count("198.51.100.22") == 0


async def test_default_gateway_ignores_forwarded_for(gateway_app: FastAPI) -> None:
    async with client_for(gateway_app, address="127.0.0.1") as c:
        r = await c.post(
            "/auth/login",
            json={"username": unique("nobody"), "password": "wrong-password"},
            headers={"X-Forwarded-For": "198.51.100.30"},
        )
        assert r.status_code == 400
    assert gateway_app.state.login_throttle.by_address.count("198.51.100.30") == 0


async def test_token_and_core_logins_keep_other_sessions(client: httpx.AsyncClient) -> None:
    user = await register(client)
    form = {"grant_type": "password", "username": user["user"]["username"], "password": user["password"]}
    first = (await client.post("/auth/token", data=form)).json()["access_token"]
    second = (await client.post("/auth/token", data=form)).json()["access_token"]
    csrf = (await client.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
    r = await client.post(
        "/api/core/login",
        data={"username": user["user"]["username"], "password": user["password"], "csrfmiddlewaretoken": csrf},
    )
    assert r.status_code == 200
    for token in (user["token"], first, second):
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 200
    assert (await client.get("/api/core/session")).status_code == 200
    # seed 001: /auth/login supersedes every earlier token (and the core session)
    r = await client.post("/auth/login", json={"username": user["user"]["username"], "password": user["password"]})
    assert r.status_code == 200
    for token in (user["token"], first, second):
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/core/session")).status_code == 403
    assert (await client.get("/auth/info", headers=bearer(r.json()["token"]))).status_code == 200


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": token})


async def test_refresh_token_rotation_and_reuse(client: httpx.AsyncClient) -> None:
    user = await register(client)
    form = {"grant_type": "password", "username": user["user"]["username"], "password": user["password"]}
    login = (await client.post("/auth/token", data=form)).json()
    other = (await client.post("/auth/token", data=form)).json()  # another device, its own family
    assert login["refresh_token"] != other["refresh_token"]

    r = await _refresh(client, login["refresh_token"])
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert set(rotated) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert rotated["refresh_token"] != login["refresh_token"] and r.headers["cache-control"] == "no-store"
    assert (await client.get("/auth/info", headers=bearer(rotated["access_token"]))).json() == user["user"]

    # the used refresh token comes back: the family dies (its refresh and access tokens)
    r = await _refresh(client, login["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert (await _refresh(client, rotated["refresh_token"])).status_code == 400
    for token in (login["access_token"], rotated["access_token"]):
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401
    # ... and only that family
    assert (await client.get("/auth/info", headers=bearer(other["access_token"]))).status_code == 200
    again = await _refresh(client, other["refresh_token"])
    assert again.status_code == 200

    # logout revokes the token's family
    assert (await client.post("/auth/logout", headers=bearer(again.json()["access_token"]))).status_code == 204
    assert (await _refresh(client, again.json()["refresh_token"])).status_code == 400

    missing = await client.post("/auth/token", data={"grant_type": "refresh_token"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    garbage = await _refresh(client, "not-a-refresh-token")
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_grant"


async def test_password_change(client: httpx.AsyncClient) -> None:
    user = await register(client)
    name = user["user"]["username"]
    form = {"grant_type": "password", "username": name, "password": user["password"]}
    here = (await client.post("/auth/token", data=form)).json()
    elsewhere = (await client.post("/auth/token", data=form)).json()

    wrong = await client.post(
        "/auth/password",
        json={"current_password": "not-the-password", "new_password": "a-new-password"},
        headers=bearer(here["access_token"]),
    )
    assert wrong.status_code == 400
    short = await client.post(
        "/auth/password",
        json={"current_password": user["password"], "new_password": "short"},
        headers=bearer(here["access_token"]),
    )
    assert short.status_code == 422
    assert (await client.get("/auth/info", headers=bearer(elsewhere["access_token"]))).status_code == 200

    r = await client.post(
        "/auth/password",
        json={"current_password": user["password"], "new_password": "a-new-password"},
        headers=bearer(here["access_token"]),
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/auth/info", headers=bearer(here["access_token"]))).status_code == 200  # kept
    for token in (user["token"], elsewhere["access_token"]):
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401
    for refresh in (here["refresh_token"], elsewhere["refresh_token"]):
        assert (await _refresh(client, refresh)).status_code == 400
    old = await client.post("/auth/login", json={"username": name, "password": user["password"]})
    assert old.status_code == 400
    new = await client.post("/auth/login", json={"username": name, "password": "a-new-password"})
    assert new.status_code == 200


async def test_gateway_metrics_only_for_allowed_addresses(gateway_app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404  # a 10.x client
    async with client_for(gateway_app, address="127.0.0.1") as local:
        r = await local.get("/metrics")
        assert r.status_code == 200 and r.text
    # the gateway's own API document stays public
    assert (await client.get("/openapi.json")).status_code == 200
