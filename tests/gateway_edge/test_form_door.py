"""The seed 004 device doors (/api/misc/scenario/*): form credentials instead of a bearer token."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt

from gateway.auth.db import community_replica
from gridcommons.community import COMMUNITY_CHANGED, CommunityV1
from gridcommons.events import CloudEvent
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


async def _community(edge: Edge, company_id: int, code: str) -> None:
    """A community in the gateway's registry replica, written by the replica consumer's own handler
    (the Kafka path is tested in tests/kernel_events/test_community_replica.py)."""
    data = CommunityV1(id=uuid.uuid4().int % 10**15 + 1, code=code, name=f"Community {code}", version=1)
    event = CloudEvent(
        source="/services/community-service",
        type=COMMUNITY_CHANGED,
        companyid=str(company_id),
        data=data.model_dump(mode="json"),
    )
    async with edge.app.state.sessionmaker() as session:
        await community_replica.apply_event(session, event)
        await session.commit()


def _company_seen(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return jwt.decode(received(r)[INTERNAL_IDENTITY_HEADER][0], options={"verify_signature": False})["cid"]


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
    # two companies and no communityId: the company cannot be told (the seed's missing-parameter answer)
    r = await c.post("/api/misc/scenario/currentData", data={"username": name, "password": password})
    assert r.status_code == 400 and r.json() == {"detail": "no param : communityId, clusterId, unitId"}
    r = await c.post(
        "/api/misc/scenario/currentData", data={"username": name, "password": password}, headers={"CompanyID": str(b)}
    )
    assert _company_seen(r) == b
    # a company id is not a community code
    r = await c.post(
        "/api/misc/scenario/currentData", data={"username": name, "password": password, "communityId": str(a)}
    )
    assert r.status_code == 400 and r.json() == {"detail": "bad param values : communityId, clusterId, unitId"}
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


async def test_the_community_code_names_the_company(edge: Edge) -> None:
    a, b, stranger = await edge.company(), await edge.company(), await edge.company()
    tag = uuid.uuid4().hex[:8]
    north, south, shared, foreign = f"north-{tag}", f"south-{tag}", f"shared-{tag}", f"foreign-{tag}"
    await _community(edge, a, north)
    await _community(edge, b, south)
    await _community(edge, a, shared)
    await _community(edge, b, shared)
    await _community(edge, stranger, foreign)
    name, password = await _resident(edge, {a: "member", b: "member"})
    c = edge.client

    async def door(
        community: str | None, headers: dict[str, str] | None = None, user: str = "account"
    ) -> httpx.Response:
        form = {user: name, "password": password, "clusterId": "K1", "unitId": "E001"}
        if community is not None:
            form["communityId"] = community
        return await c.post("/api/misc/scenario/currentData", data=form, headers=headers or {})

    # two companies holding different codes: each code names its company (`account` and `username`)
    assert _company_seen(await door(north)) == a
    assert _company_seen(await door(south)) == b
    assert _company_seen(await door(south, user="username")) == b
    forwarded = parse_qs((await door(north)).json()["body"])
    assert forwarded == {"communityId": [north], "clusterId": ["K1"], "unitId": ["E001"]}  # no credentials
    # the same code in two companies of the user: the header must name one
    r = await door(shared)
    assert r.status_code == 400 and "CompanyID" in r.json()["detail"], r.text
    assert _company_seen(await door(shared, {"CompanyID": str(b)})) == b
    # the header wins over the code, and must still be one of the user's companies
    assert _company_seen(await door(north, {"CompanyID": str(b)})) == b
    assert _company_seen(await door(north, {"CommunityId": str(b)})) == b
    assert (await door(north, {"CompanyID": str(stranger)})).status_code == 403
    # unknown codes, and codes of a company the user is not in, are unknown alike
    for code in (f"nowhere-{tag}", foreign, "x" * 65):
        r = await door(code)
        assert r.status_code == 400 and r.json() == {"detail": "bad param values : communityId, clusterId, unitId"}

    # a user of one company: an unknown code goes to that company, whose service answers it
    single, single_password = await _resident(edge, {b: "member"})
    r = await c.post(
        "/api/misc/scenario/currentData",
        data={"account": single, "password": single_password, "communityId": north, "clusterId": "K1", "unitId": "E1"},
    )
    assert _company_seen(r) == b
    # a user of no company: nothing to name
    lonely, lonely_password = await _resident(edge, {})
    for extra, answer in (
        ({"communityId": north}, "bad param values : communityId, clusterId, unitId"),
        ({}, "no param : communityId, clusterId, unitId"),
    ):
        r = await c.post(
            "/api/misc/scenario/currentData", data={"account": lonely, "password": lonely_password, **extra}
        )
        assert r.status_code == 400 and r.json() == {"detail": answer}
