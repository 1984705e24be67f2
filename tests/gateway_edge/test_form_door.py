"""The seed 004 device doors (/api/misc/scenario/*): form credentials instead of a bearer token."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

import jwt

from gridcommons.identity import INTERNAL_IDENTITY_HEADER

from .conftest import Edge, bearer
from .test_proxy import received


async def _resident(edge: Edge, companies: dict[int, str]) -> tuple[str, str]:
    name = f"unit{uuid.uuid4().hex[:10]}"
    password = "Unit-Passw0rd-" + name
    r = await edge.client.post(
        "/auth/register", json={"username": name, "email": f"{name}@example.org", "password": password}
    )
    assert r.status_code == 201, r.text
    user_id = r.json()["user"]["id"]
    root = await edge.superuser_token()
    for company_id, role in companies.items():
        put = await edge.client.put(
            f"/api/gateway/companies/{company_id}/members/{user_id}", json={"role": role}, headers=bearer(root)
        )
        assert put.status_code in (200, 201), put.text
    return name, password


async def test_form_credentials_reach_the_service_as_an_identity(edge: Edge) -> None:
    company = await edge.company()
    name, password = await _resident(edge, {company: "member"})
    form = {"account": name, "password": password, "communityId": "c1", "clusterId": "k1", "unitId": "E001"}
    r = await edge.client.post("/api/misc/scenario/currentData", data=form)
    assert r.status_code == 200, r.text
    seen = received(r)
    claims = jwt.decode(seen[INTERNAL_IDENTITY_HEADER][0], options={"verify_signature": False})
    assert claims["cid"] == company and claims["rol"] == ["member"] and claims["unm"] == name
    # the credentials never reach the service; the rest of the form does
    forwarded = parse_qs(r.json()["body"])
    assert forwarded == {"communityId": ["c1"], "clusterId": ["k1"], "unitId": ["E001"]}
    assert "password" not in r.json()["body"]
    # multipart (curl -F) and the `username` spelling work too
    multipart = await edge.client.post(
        "/api/misc/scenario/update",
        files={"username": (None, name), "password": (None, password), "name": (None, "s1")},
    )
    assert multipart.status_code == 200, multipart.text
    assert parse_qs(multipart.json()["body"]) == {"name": ["s1"]}


async def test_form_door_failures(edge: Edge) -> None:
    a, b = await edge.company(), await edge.company()
    name, password = await _resident(edge, {a: "member", b: "member"})
    c = edge.client
    r = await c.post("/api/misc/scenario/currentData", data={"unitId": "E001"})
    assert r.status_code == 400 and r.json() == {"detail": "no param : username/account, password"}
    r = await c.post("/api/misc/scenario/currentData", data={"username": name, "password": "wrong-password"})
    assert r.status_code == 403 and r.json() == {"detail": "login failed"}
    # two companies: ambiguous unless named by header or a numeric communityId of one of them
    r = await c.post("/api/misc/scenario/currentData", data={"username": name, "password": password})
    assert r.status_code == 400
    r = await c.post(
        "/api/misc/scenario/currentData", data={"username": name, "password": password}, headers={"CompanyID": str(b)}
    )
    assert r.status_code == 200
    assert jwt.decode(received(r)[INTERNAL_IDENTITY_HEADER][0], options={"verify_signature": False})["cid"] == b
    r = await c.post(
        "/api/misc/scenario/currentData", data={"username": name, "password": password, "communityId": str(a)}
    )
    assert r.status_code == 200
    # a company the user is not in is refused like any other tenant check
    other = await edge.company()
    r = await c.post(
        "/api/misc/scenario/currentData",
        data={"username": name, "password": password},
        headers={"CompanyID": str(other)},
    )
    assert r.status_code == 403
    # the other doors still need a bearer token
    assert (
        await c.post("/api/resident/scenario/choose", data={"username": name, "password": password})
    ).status_code == 401
