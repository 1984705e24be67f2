"""Companies, memberships, /admin/users scoping, CompanyID rules, membership events."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from gwhelpers import bearer, make_company, register, unique
from sqlalchemy import text

from gridcommons.errors import DomainError


def company_headers(token: str, company_id: int) -> dict[str, str]:
    return bearer(token) | {"CompanyID": str(company_id)}


async def test_admin_users_scoping(client: httpx.AsyncClient, su: str) -> None:
    a = await make_company(client, su)
    b = await make_company(client, su)
    r = await client.get("/admin/users", headers=company_headers(a["admin"]["token"], a["id"]))
    assert r.status_code == 200, r.text
    listed = r.json()
    assert {u["username"] for u in listed} == {a[role]["user"]["username"] for role in ("admin", "operator", "member")}
    assert all(set(u) == {"id", "username", "email", "role"} for u in listed)
    assert {u["username"]: u["role"] for u in listed}[a["operator"]["user"]["username"]] == "operator"

    # the CommunityId alias works too
    alias = await client.get("/admin/users", headers=bearer(a["admin"]["token"]) | {"CommunityId": str(a["id"])})
    assert alias.json() == listed

    one = await client.get(
        f"/admin/users/{a['member']['user']['id']}", headers=company_headers(a["admin"]["token"], a["id"])
    )
    assert one.status_code == 200 and one.json()["username"] == a["member"]["user"]["username"]
    # B's user through A's admin: 404; B's company with A's admin: 403 (not a member)
    assert (
        await client.get(
            f"/admin/users/{b['member']['user']['id']}", headers=company_headers(a["admin"]["token"], a["id"])
        )
    ).status_code == 404
    r = await client.get("/admin/users", headers=company_headers(a["admin"]["token"], b["id"]))
    assert r.status_code == 403 and r.json() == {"detail": "Not a member of this company"}
    # non-admins of A: 403; no CompanyID: 400
    for role in ("member", "operator"):
        assert (await client.get("/admin/users", headers=company_headers(a[role]["token"], a["id"]))).status_code == 403
    assert (await client.get("/admin/users", headers=bearer(a["admin"]["token"]))).status_code == 400
    assert (await client.get("/admin/users")).status_code == 401

    # superuser: every user without CompanyID; a company's users with it
    everyone = await client.get("/admin/users", headers=bearer(su))
    names = {u["username"] for u in everyone.json()}
    assert {a["member"]["user"]["username"], b["member"]["user"]["username"]} <= names
    scoped = await client.get("/admin/users", headers=company_headers(su, b["id"]))
    assert {u["username"] for u in scoped.json()} == {b[r]["user"]["username"] for r in ("admin", "operator", "member")}


async def test_company_and_membership_permissions(client: httpx.AsyncClient, su: str, gateway_app: FastAPI) -> None:
    a = await make_company(client, su)
    b = await make_company(client, su)
    newcomer = await register(client)
    nid = newcomer["user"]["id"]

    # only a superuser creates companies; names are unique
    assert (
        await client.post("/api/gateway/companies", json={"name": unique()}, headers=bearer(a["admin"]["token"]))
    ).status_code == 403
    dup = await client.post("/api/gateway/companies", json={"name": a["company"]["name"]}, headers=bearer(su))
    assert dup.status_code == 409
    assert set(a["company"]) == {"id", "name", "created_at"}

    # the admin of A manages A's members; operators and members cannot; B's admin sees nothing (404)
    path = f"/api/gateway/companies/{a['id']}/members/{nid}"
    assert (await client.put(path, json={"role": "member"}, headers=bearer(a["operator"]["token"]))).status_code == 403
    assert (await client.put(path, json={"role": "member"}, headers=bearer(a["member"]["token"]))).status_code == 403
    assert (await client.put(path, json={"role": "member"}, headers=bearer(b["admin"]["token"]))).status_code == 404
    assert (await client.put(path, json={"role": "member"}, headers=bearer(newcomer["token"]))).status_code == 404
    assert (await client.put(path, json={"role": "owner"}, headers=bearer(a["admin"]["token"]))).status_code == 422
    # a company admin does not add a non-member directly (invitations): the same 404 as for no such user
    r = await client.put(path, json={"role": "member"}, headers=bearer(a["admin"]["token"]))
    assert r.status_code == 404 and r.json() == {"detail": "Membership not found"}
    missing_user = f"/api/gateway/companies/{a['id']}/members/999999999"
    r = await client.put(missing_user, json={"role": "member"}, headers=bearer(a["admin"]["token"]))
    assert r.status_code == 404 and r.json() == {"detail": "Membership not found"}
    assert (
        await client.put(f"/api/gateway/companies/999999999/members/{nid}", json={"role": "member"}, headers=bearer(su))
    ).status_code == 404
    invited = await client.post(
        f"/api/gateway/companies/{a['id']}/invitations",
        json={"username": newcomer["user"]["username"], "role": "member"},
        headers=bearer(a["admin"]["token"]),
    )
    assert invited.status_code == 202, invited.text
    accepted = await client.post(
        f"/api/gateway/invitations/{invited.json()['id']}/accept", headers=bearer(newcomer["token"])
    )
    assert accepted.status_code == 200, accepted.text
    # a member's role is the admin's to change, with the member's details
    r = await client.put(path, json={"role": "member"}, headers=bearer(a["admin"]["token"]))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "company_id": a["id"],
        "user_id": nid,
        "username": newcomer["user"]["username"],
        "email": newcomer["user"]["email"],
        "role": "member",
    }

    # the newcomer now acts in A (the cache saw the change at once)
    assert (
        await client.get("/admin/users", headers=company_headers(newcomer["token"], a["id"]))
    ).status_code == 403  # member, not admin
    mine = await client.get("/api/gateway/companies", headers=bearer(newcomer["token"]))
    assert [(c["id"], c["role"]) for c in mine.json()] == [(a["id"], "member")]
    r = await client.put(path, json={"role": "admin"}, headers=bearer(a["admin"]["token"]))
    assert r.json()["role"] == "admin"
    assert (await client.get("/admin/users", headers=company_headers(newcomer["token"], a["id"]))).status_code == 200

    members = await client.get(f"/api/gateway/companies/{a['id']}/members", headers=bearer(a["admin"]["token"]))
    assert {m["user_id"]: m["role"] for m in members.json()}[nid] == "admin"
    assert (
        await client.get(f"/api/gateway/companies/{a['id']}/members", headers=bearer(a["member"]["token"]))
    ).status_code == 403
    assert (
        await client.get(f"/api/gateway/companies/{a['id']}/members", headers=bearer(b["admin"]["token"]))
    ).status_code == 404

    # remove: membership gone, newcomer loses access at once
    assert (await client.delete(path, headers=bearer(a["admin"]["token"]))).status_code == 204
    assert (await client.delete(path, headers=bearer(a["admin"]["token"]))).status_code == 404
    assert (await client.get("/admin/users", headers=company_headers(newcomer["token"], a["id"]))).status_code == 403
    assert (await client.get("/api/gateway/companies", headers=bearer(newcomer["token"]))).json() == []

    everything = await client.get("/api/gateway/companies", headers=bearer(su))
    assert {a["id"], b["id"]} <= {c["id"] for c in everything.json()}


async def test_identity_for_company_rules(gateway_app: FastAPI, client: httpx.AsyncClient, su: str) -> None:
    a = await make_company(client, su)
    b = await make_company(client, su)
    auth = gateway_app.state.authenticator
    admin = await auth.authenticate(f"Bearer {a['admin']['token']}")
    operator = await auth.authenticate(f"Bearer {a['operator']['token']}")
    root = await auth.authenticate(f"Bearer {su}")

    ident = await auth.identity_for(operator, str(a["id"]))
    assert ident.company_id == a["id"] and ident.roles == frozenset({"operator"}) and ident.kind == "user"
    assert ident.subject == str(a["operator"]["user"]["id"]) and ident.username == a["operator"]["user"]["username"]
    assert (await auth.identity_for(admin, f" {a['id']} ")).roles == frozenset({"admin"})

    for header in (None, "", "  "):
        with pytest.raises(DomainError) as exc:
            await auth.identity_for(admin, header)
        assert exc.value.status_code == 400
    for header in ("abc", "-1", "0", "1.5", "１２", "99999999999999999999999", "1e3"):
        with pytest.raises(DomainError) as exc:
            await auth.identity_for(admin, header)
        assert exc.value.status_code == 400, header
    messages = set()
    for header in (str(b["id"]), "999999999"):  # not a member / unknown company: same 403
        with pytest.raises(DomainError) as exc:
            await auth.identity_for(admin, header)
        assert exc.value.status_code == 403
        messages.add(exc.value.detail)
    assert len(messages) == 1

    # superuser: admin in any existing company, 403 for unknown ones
    sup = await auth.identity_for(root, str(b["id"]))
    assert sup.roles == frozenset({"admin"}) and sup.superuser
    with pytest.raises(DomainError) as exc:
        await auth.identity_for(root, "999999999")
    assert exc.value.status_code == 403

    # machine clients: their own company only, role device
    r = await client.post(
        "/api/gateway/machine-clients", json={"name": "dev"}, headers=company_headers(a["admin"]["token"], a["id"])
    )
    mc = r.json()
    tok = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": mc["client_id"], "client_secret": mc["client_secret"]},
    )
    device = await auth.authenticate(f"Bearer {tok.json()['access_token']}")
    assert (await auth.identity_for(device, str(a["id"]))).roles == frozenset({"device"})
    with pytest.raises(DomainError) as exc:
        await auth.identity_for(device, str(b["id"]))
    assert exc.value.status_code == 403
    # a device cannot manage anything
    r = await client.post(
        "/api/gateway/machine-clients", json={"name": "x"}, headers=company_headers(tok.json()["access_token"], a["id"])
    )
    assert r.status_code == 403
    # only admins manage machine clients; another tenant's client is 404
    assert (
        await client.post(
            "/api/gateway/machine-clients", json={"name": "x"}, headers=company_headers(a["operator"]["token"], a["id"])
        )
    ).status_code == 403
    assert (
        await client.delete(
            f"/api/gateway/machine-clients/{mc['client_id']}", headers=company_headers(b["admin"]["token"], b["id"])
        )
    ).status_code == 404
    assert (
        await client.get("/api/gateway/machine-clients", headers=company_headers(b["admin"]["token"], b["id"]))
    ).json() == []


async def test_membership_changes_write_outbox_events(gateway_app: FastAPI, client: httpx.AsyncClient, su: str) -> None:
    a = await make_company(client, su)
    user = await register(client)
    uid = user["user"]["id"]
    path = f"/api/gateway/companies/{a['id']}/members/{uid}"
    assert (await client.put(path, json={"role": "operator"}, headers=bearer(su))).status_code == 200
    assert (
        await client.put(path, json={"role": "operator"}, headers=bearer(su))
    ).status_code == 200  # no change, no event
    assert (await client.delete(path, headers=bearer(su))).status_code == 204
    r = await client.post("/api/gateway/machine-clients", json={"name": "dev"}, headers=company_headers(su, a["id"]))
    mc = r.json()
    assert (
        await client.delete(f"/api/gateway/machine-clients/{mc['client_id']}", headers=company_headers(su, a["id"]))
    ).status_code == 204

    async with gateway_app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT topic, key, payload FROM gateway.outbox WHERE payload->>'companyid' = :c ORDER BY seq"),
                {"c": str(a["id"])},
            )
        ).all()
    assert all(r.topic == "gateway.membership.v1" and r.key == str(a["id"]) for r in rows)
    events = [r.payload for r in rows]
    assert all(
        e["type"] == "org.gridcommons.gateway.membership.changed" and e["source"] == "/services/gateway" for e in events
    )
    mine = [e["data"] for e in events if e["data"]["user_id"] == uid]
    assert [(d["kind"], d["role"]) for d in mine] == [("user", "operator"), ("user", None)]
    assert mine[0] == {
        "company_id": a["id"],
        "kind": "user",
        "user_id": uid,
        "client_id": None,
        "username": user["user"]["username"],
        "role": "operator",
    }
    device = [e["data"] for e in events if e["data"]["client_id"] == mc["client_id"]]
    assert [(d["kind"], d["role"]) for d in device] == [("client", "device"), ("client", None)]
    # the three members added by make_company were published too
    assert sum(1 for e in events if e["data"]["kind"] == "user" and e["data"]["role"] is not None) == 4


async def test_form_credentials_for_device_endpoints(gateway_app: FastAPI, client: httpx.AsyncClient, su: str) -> None:
    """authenticate_password (seed 004 /api/misc/* form credentials) and companies_of."""
    a = await make_company(client, su)
    auth = gateway_app.state.authenticator
    member = a["member"]
    principal = await auth.authenticate_password(member["user"]["username"], member["password"], "10.99.0.1")
    assert principal.kind == "user" and principal.subject == str(member["user"]["id"]) and principal.jti == ""
    again = await auth.authenticate_password(member["user"]["username"], member["password"], "10.99.0.1")  # cached
    assert again.subject == principal.subject
    assert await auth.companies_of(principal) == {a["id"]: "member"}
    with pytest.raises(DomainError) as exc:
        await auth.authenticate_password(member["user"]["username"], "wrong-password", "10.99.0.1")
    assert exc.value.status_code == 401 and exc.value.detail == "login failed"
    # the user's bearer token is not superseded by a form-credential check
    assert (await client.get("/auth/info", headers=bearer(member["token"]))).status_code == 200
    # membership changes reach companies_of at once
    path = f"/api/gateway/companies/{a['id']}/members/{member['user']['id']}"
    assert (await client.delete(path, headers=bearer(su))).status_code == 204
    assert await auth.companies_of(principal) == {}
