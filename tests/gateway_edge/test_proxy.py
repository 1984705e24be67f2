"""The edge over real HTTP: routing, tenancy, identity, headers, failures, limits."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.devstack import free_port
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner, generate_ed25519_pem
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app

from .conftest import MAX_BODY, ROUTE_TIMEOUT, Edge, bearer

ASSET = {
    "code": "edge",
    "name": "Edge BESS",
    "type": "BESS",
    "region": "DE",
    "delivery_area": "50HZ",
    "provider": "ENTELIOS",
}


def received(response: httpx.Response) -> dict[str, list[str]]:
    """The headers the echo upstream saw, name -> values."""
    out: dict[str, list[str]] = {}
    for k, v in response.json()["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out


async def test_tenancy_through_the_gateway(edge: Edge) -> None:
    a, b = await edge.company(), await edge.company()
    operator_a = await edge.user({a: "operator"})
    member_b = await edge.user({b: "member"})
    c = edge.client

    r = await c.post("/api/assets", json=ASSET, headers={**bearer(operator_a), "CompanyID": str(a)})
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    got = await c.get(f"/api/assets/{asset_id}", headers={**bearer(operator_a), "CompanyID": str(a)})
    assert got.status_code == 200 and got.json() == r.json()
    # The CommunityId alias selects the company the same way.
    alias = await c.get(f"/api/assets/{asset_id}", headers={**bearer(operator_a), "CommunityId": str(a)})
    assert alias.status_code == 200 and alias.json()["id"] == asset_id
    # Another tenant's resource does not exist for you.
    other = await c.get(f"/api/assets/{asset_id}", headers={**bearer(member_b), "CompanyID": str(b)})
    assert other.status_code == 404
    assert (await c.get("/api/assets", headers={**bearer(member_b), "CompanyID": str(b)})).json()["assets"] == []

    # CompanyID rules: missing / not a number -> 400, not a member / unknown company -> 403.
    assert (await c.get("/api/assets", headers=bearer(operator_a))).status_code == 400
    assert (await c.get("/api/assets", headers={**bearer(operator_a), "CompanyID": "abc"})).status_code == 400
    assert (await c.get("/api/assets", headers={**bearer(member_b), "CompanyID": str(a)})).status_code == 403
    unknown = await c.get("/api/assets", headers={**bearer(operator_a), "CompanyID": "987654321"})
    assert unknown.status_code == 403
    assert (
        unknown.json()["detail"]
        == (await c.get("/api/assets", headers={**bearer(member_b), "CompanyID": str(a)})).json()["detail"]
    )


async def test_bearer_required(edge: Edge) -> None:
    a = await edge.company()
    for headers in (
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic dTpw"},
        {"Authorization": "Bearer"},
    ):
        r = await edge.client.get("/api/assets", headers={**headers, "CompanyID": str(a)})
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"] == "application/json" and "detail" in r.json()
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    # A token signed by someone else's key is garbage too.
    forged = jwt.encode(
        {"sub": "1", "typ": "user", "exp": int(time.time()) + 60}, generate_ed25519_pem()[0], algorithm="EdDSA"
    )
    assert (await edge.client.get("/api/assets", headers={**bearer(forged), "CompanyID": str(a)})).status_code == 401


async def test_unknown_path_and_method(edge: Edge) -> None:
    r = await edge.client.get("/nowhere/at/all")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert (await edge.client.get("/api/assetsXYZ")).status_code == 404
    r = await edge.client.get("/api/ingest/asset-statuses")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


async def test_forged_identity_is_stripped(edge: Edge, migrated: Stack) -> None:
    a, b = await edge.company(), await edge.company()
    member_a = await edge.user({a: "member"})
    # A self-made identity claiming operator in company b, signed with an attacker's key.
    forged = IdentitySigner(generate_ed25519_pem()[0]).sign(
        Identity(subject="attacker", kind="user", company_id=b, roles=frozenset({"admin"}))
    )
    extra = {
        INTERNAL_IDENTITY_HEADER: forged,
        "X-User-Id": "1",
        "X-Company-Id": str(b),
        "X-Roles": "admin",
        "X-Gridcommons-Other": "x",
    }
    # Without a bearer, the forged header gets you nothing at the gateway...
    assert (await edge.client.get("/api/assets", headers={**extra, "CompanyID": str(b)})).status_code == 401
    # ...nor at the service directly.
    async with httpx.AsyncClient(base_url=edge.asset_url) as direct:
        assert (await direct.get("/api/assets", headers=extra)).status_code == 401
    # With a bearer, the upstream sees only the gateway's own identity for the caller's membership.
    r = await edge.client.get(
        "/api/staff/monitoring/whoami", headers={**bearer(member_a), "CompanyID": str(a), **extra}
    )
    assert r.status_code == 200, r.text
    seen = received(r)
    assert len(seen[INTERNAL_IDENTITY_HEADER]) == 1
    claims = jwt.decode(
        seen[INTERNAL_IDENTITY_HEADER][0],
        migrated.internal_public_pem,
        algorithms=["EdDSA"],
        audience="gridcommons-services",
    )
    assert claims["cid"] == a and claims["rol"] == ["member"]
    for name in ("x-user-id", "x-company-id", "x-roles", "x-gridcommons-other", "authorization"):
        assert name not in seen, name
    assert seen["companyid"] == [str(a)]


async def test_request_id(edge: Edge) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    r = await edge.client.get("/api/staff/monitoring/rid", headers={**h, "X-Request-ID": "edge-test-rid-42"})
    assert r.headers["x-request-id"] == "edge-test-rid-42"
    assert received(r)["x-forwarded-for"] == ["127.0.0.1"]
    assert received(r)["x-request-id"] == ["edge-test-rid-42"]
    assert r.headers.get_list("x-request-id") == ["edge-test-rid-42"]  # not duplicated by the upstream's
    r = await edge.client.get("/api/staff/monitoring/rid", headers=h)
    generated = r.headers["x-request-id"]
    assert len(generated) >= 16 and received(r)["x-request-id"] == [generated]
    # An invalid one is replaced.
    r = await edge.client.get("/api/staff/monitoring/rid", headers={**h, "X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


async def test_hop_by_hop_and_forwarding_headers(edge: Edge) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    r = await edge.client.post(
        "/api/staff/monitoring/hop/x%2Fy?q=1&r=a%20b",
        content=b"payload",
        headers={
            **h,
            "Connection": "keep-alive, X-Custom-Hop",
            "X-Custom-Hop": "must-not-pass",
            "Keep-Alive": "timeout=30",
            "TE": "trailers",
            "Trailer": "X-Checksum",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "X-End-To-End": "passes",
            "X-Forwarded-For": "203.0.113.7",
            "Cookie": "sessionid=nope; other=1",
        },
    )
    assert r.status_code == 200, r.text
    seen = received(r)
    for name in ("x-custom-hop", "keep-alive", "te", "trailer", "proxy-authorization", "cookie", "authorization"):
        assert name not in seen, name
    assert seen["x-end-to-end"] == ["passes"]
    # The served gateway runs uvicorn with proxy headers on for the loopback peer, so the client it sees
    # is already the chain's last hop; the chain is passed on without repeating it.
    assert seen["x-forwarded-for"] == ["203.0.113.7"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-forwarded-host"] == [edge.url.removeprefix("http://")]
    assert seen["host"][0] != edge.url.removeprefix("http://")  # the upstream's own host
    assert r.json()["body_length"] == len(b"payload")
    assert r.json()["query"] == "q=1&r=a%20b"  # path and query forwarded unchanged
    # Response side: the upstream's hop-by-hop headers (and the ones its Connection names) are dropped.
    assert "x-upstream-hop" not in r.headers and "keep-alive" not in r.headers
    assert r.headers["x-upstream-plain"] == "kept"


async def test_streamed_request_body(edge: Edge) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}

    async def chunks():
        for _ in range(10):
            yield b"x" * 5000

    r = await edge.client.post("/api/staff/monitoring/stream", content=chunks(), headers=h)
    assert r.status_code == 200 and r.json()["body_length"] == 50_000
    assert received(r).get("transfer-encoding") == ["chunked"]
    # A known-length body above the buffering threshold streams with its Content-Length.
    r = await edge.client.post("/api/staff/monitoring/stream", content=b"y" * 90_000, headers=h)
    assert r.status_code == 200 and r.json()["body_length"] == 90_000
    assert received(r)["content-length"] == ["90000"]


async def test_oversize_body(edge: Edge) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    r = await edge.client.post("/api/staff/monitoring/big", content=b"z" * (MAX_BODY + 1), headers=h)
    assert r.status_code == 413 and "detail" in r.json()

    async def chunks():
        for _ in range(30):
            yield b"z" * 10_000

    r = await edge.client.post("/api/staff/monitoring/big", content=chunks(), headers=h)
    assert r.status_code == 413 and "detail" in r.json()


async def test_upstream_down_is_502(edge: Edge) -> None:
    """A second gateway on the same database and keys, whose metering-service listens nowhere."""
    a = await edge.company()
    h = {**bearer(await edge.user({a: "admin"})), "CompanyID": str(a)}
    dead = f"http://127.0.0.1:{free_port()}"
    settings = GatewaySettings(upstreams={name: dead for name in UPSTREAMS}, registrations_per_address=100_000)
    async with (
        serve_app(create_gateway_app(settings, configure_logs=False)) as url,
        httpx.AsyncClient(base_url=url, timeout=20) as client,
    ):
        start = time.monotonic()
        r = await client.get("/admin/meters", headers=h)
        assert r.status_code == 502 and "metering-service" in r.json()["detail"]
        assert time.monotonic() - start < 2.0


async def test_slow_upstream_is_504(edge: Edge) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    start = time.monotonic()
    r = await edge.client.get("/api/staff/deal/slow", headers=h)
    elapsed = time.monotonic() - start
    assert r.status_code == 504 and "detail" in r.json()
    assert ROUTE_TIMEOUT <= elapsed < ROUTE_TIMEOUT + 1.0


async def test_machine_client(edge: Edge) -> None:
    a = await edge.company()
    device = await edge.machine_client(a, budget=4)
    h = {**bearer(device), "CompanyID": str(a)}
    r = await edge.client.get("/api/assets", headers=h)
    assert r.status_code == 403, r.text
    # The ingestion door lets it through (the company defaults to the client's own).
    statuses = []
    for _ in range(4):
        r = await edge.client.post("/api/ingest/asset-statuses", json={"statuses": []}, headers=bearer(device))
        statuses.append(r.status_code)
    assert all(s not in (400, 401, 403, 429, 502, 504) for s in statuses), statuses
    r = await edge.client.post("/api/ingest/asset-statuses", json={"statuses": []}, headers=bearer(device))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # Its budget is its own: another client of the same company is unaffected.
    other = await edge.machine_client(a, budget=4)
    r = await edge.client.post("/api/ingest/asset-statuses", json={"statuses": []}, headers=bearer(other))
    assert r.status_code not in (401, 403, 429)
    # A device may not act for another company.
    b = await edge.company()
    r = await edge.client.post("/api/ingest/asset-statuses", json={}, headers={**bearer(other), "CompanyID": str(b)})
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/api/communities/x", "/api/staff/monitoring/x", "/api/resident/scenario/x"])
async def test_routes_reach_their_service(edge: Edge, path: str) -> None:
    a = await edge.company()
    h = {**bearer(await edge.user({a: "member"})), "CompanyID": str(a)}
    r = await edge.client.get(path, headers=h)
    assert r.status_code == 200 and r.json()["path"] == path


async def test_session_cookie_as_bearer(edge: Edge) -> None:
    a = await edge.company()
    token = await edge.user({a: "operator"})
    c = httpx.AsyncClient(base_url=edge.url)  # its own cookie jar
    async with c:
        c.cookies.set("sessionid", token)
        r = await c.get("/api/staff/monitoring/cookie", headers={"CompanyID": str(a)})
        assert r.status_code == 200, r.text
        assert "cookie" not in received(r)  # the session cookie is a gateway credential, never forwarded
        # Unsafe methods authenticated by cookie need the CSRF double submit.
        assert (await c.post("/api/staff/monitoring/cookie", json={}, headers={"CompanyID": str(a)})).status_code == 403
        c.cookies.set("csrftoken", "t" * 32)
        r = await c.post(
            "/api/staff/monitoring/cookie", json={}, headers={"CompanyID": str(a), "X-CSRFToken": "t" * 32}
        )
        assert r.status_code == 200, r.text
