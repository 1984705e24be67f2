"""gridcommons.internal_client: where a peer is, what is relayed, and how every answer of a peer (or its
absence) reaches the caller, against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gridcommons.devstack import free_port
from gridcommons.errors import DomainError, ValidationFailed
from gridcommons.identity import INTERNAL_IDENTITY_HEADER
from gridcommons.internal_client import (
    InternalClient,
    PeerFailed,
    PeerTimeout,
    PeerUnavailable,
    close_internal_clients,
    internal_client,
    peer_base_url,
)
from gridcommons.observability import request_id_var
from gridcommons.registry import load_registry
from gridcommons.testing.servers import serve_app


async def echo(request: Request) -> Response:
    return JSONResponse({"headers": dict(request.headers), "body": (await request.body()).decode()})


async def slow(request: Request) -> Response:
    await asyncio.sleep(2)
    return JSONResponse({})


def peer() -> Starlette:
    routes = [
        Route("/echo", echo, methods=["POST", "GET"]),
        Route("/fail", lambda r: JSONResponse({"detail": "Internal server error"}, status_code=500)),
        Route(
            "/busy",
            lambda r: JSONResponse({"detail": "Database unavailable; retry later"}, 503, {"Retry-After": "7"}),
        ),
        Route("/slow", slow),
        Route("/text", lambda r: PlainTextResponse("hello")),
        Route("/empty", lambda r: Response(status_code=204)),
        Route("/teapot", lambda r: JSONResponse({"detail": "short and stout"}, status_code=418)),
        Route("/html404", lambda r: PlainTextResponse("<html>nope</html>", status_code=404)),
        Route(
            "/invalid",
            lambda r: JSONResponse(
                {"detail": [{"loc": ["body", "x"], "msg": "bad", "type": "value_error", "input": 1}]}, 422
            ),
        ),
    ]
    return Starlette(routes=routes)


@pytest.fixture
async def peer_url() -> AsyncIterator[str]:
    async with serve_app(peer()) as url:
        yield url


@pytest.fixture
async def client(peer_url: str) -> AsyncIterator[InternalClient]:
    c = InternalClient("metering-service", base_url=peer_url, timeout=0.5)
    try:
        yield c
    finally:
        await c.aclose()


def test_peer_base_url() -> None:
    registry = load_registry()
    metering = next(e for e in registry if e.name == "metering-service")
    assert metering.internal_url_env == "INTERNAL_URL_METERING_SERVICE"
    assert peer_base_url("metering-service", environ={}) == f"http://127.0.0.1:{metering.port}"
    explicit = {"INTERNAL_URL_METERING_SERVICE": "http://metering-service:8102/"}
    assert peer_base_url("metering-service", environ=explicit) == "http://metering-service:8102"
    assert peer_base_url("deal-service", environ={}, registry=registry).endswith(":8103")
    for name in ("gateway", "billing-service"):
        with pytest.raises(ValueError, match=name):
            peer_base_url(name, environ={})


async def test_the_identity_and_request_id_are_relayed(client: InternalClient) -> None:
    token = request_id_var.set("req-42")
    try:
        got = await client.call("POST", "/echo", identity="the-token", json={"a": 1})
    finally:
        request_id_var.reset(token)
    assert got["headers"][INTERNAL_IDENTITY_HEADER] == "the-token"
    assert got["headers"]["x-request-id"] == "req-42"
    assert got["body"] == '{"a":1}'
    # a header of the caller's cannot replace the identity
    got = await client.call("GET", "/echo", identity="mine", headers={INTERNAL_IDENTITY_HEADER: "other"})
    assert got["headers"][INTERNAL_IDENTITY_HEADER] == "mine"
    assert await client.call("GET", "/empty", identity="t") is None


async def test_answers_of_the_peer(client: InternalClient) -> None:
    with pytest.raises(PeerFailed) as failed:
        await client.call("GET", "/fail", identity="t")
    assert (failed.value.status_code, failed.value.detail) == (502, "metering-service failed (500)")
    with pytest.raises(PeerUnavailable) as busy:
        await client.call("GET", "/busy", identity="t")
    assert busy.value.status_code == 503 and busy.value.headers == {"Retry-After": "7"}
    assert busy.value.detail == "metering-service is unavailable: Database unavailable; retry later"
    with pytest.raises(PeerTimeout) as slow_:
        await client.call("GET", "/slow", identity="t")
    assert (slow_.value.status_code, slow_.value.detail) == (504, "metering-service did not answer within 0.5 s")
    with pytest.raises(PeerFailed):
        await client.call("GET", "/text", identity="t")
    with pytest.raises(DomainError) as teapot:
        await client.call("GET", "/teapot", identity="t")
    assert (teapot.value.status_code, teapot.value.detail) == (418, "short and stout")
    with pytest.raises(DomainError) as missing:
        await client.call("GET", "/html404", identity="t")
    assert (missing.value.status_code, missing.value.detail) == (404, "metering-service refused the request (404)")
    with pytest.raises(ValidationFailed) as invalid:
        await client.call("GET", "/invalid", identity="t")
    assert invalid.value.errors == [{"loc": ["body", "x"], "msg": "bad", "type": "value_error", "input": 1}]


async def test_a_peer_that_is_down() -> None:
    c = InternalClient("metering-service", base_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(PeerUnavailable) as down:
            await c.call("GET", "/anything", identity="t")
    finally:
        await c.aclose()
    assert down.value.status_code == 503 and down.value.headers == {"Retry-After": "5"}
    assert down.value.detail == "metering-service is unavailable (connection refused or unreachable); retry later"


async def test_one_client_per_peer_and_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_URL_DEAL_SERVICE", "http://deal-service:8103")
    app = Starlette()
    first = internal_client(app, "deal-service")
    assert internal_client(app, "deal-service") is first and first.base_url == "http://deal-service:8103"
    assert internal_client(app, "metering-service") is not first
    await close_internal_clients(app)
    assert internal_client(app, "deal-service") is not first
    await close_internal_clients(app)
