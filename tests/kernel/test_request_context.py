"""gridcommons.observability: request ids, body limit (413), metrics, JSON logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from gridcommons.errors import install_error_handlers
from gridcommons.observability import (
    JsonFormatter,
    RequestContextMiddleware,
    metrics_payload,
    request_id_var,
    valid_request_id,
)

LIMIT = 64


class Body(BaseModel):
    text: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="kernel-test", max_body_bytes=LIMIT)

    @app.get("/rid")
    async def rid() -> dict[str, str | None]:
        return {"request_id": request_id_var.get()}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/model")
    async def model(body: Body) -> dict[str, int]:
        return {"size": len(body.text)}

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_request_id_passthrough(client: httpx.AsyncClient) -> None:
    r = await client.get("/rid", headers={"X-Request-ID": "abc-123.x:y_z"})
    assert r.headers["x-request-id"] == "abc-123.x:y_z"
    assert r.json() == {"request_id": "abc-123.x:y_z"}  # visible to handlers (and the logs)


async def test_request_id_generated(client: httpx.AsyncClient) -> None:
    a = await client.get("/rid")
    b = await client.get("/rid")
    for r in (a, b):
        rid = r.headers["x-request-id"]
        assert len(rid) == 32 and int(rid, 16) >= 0
        assert r.json() == {"request_id": rid}
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    assert request_id_var.get() is None  # reset after the request


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "new\\nline", "ünïcode", "<script>"])
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.get("/rid", headers={"X-Request-ID": bad.encode("utf-8")})  # type: ignore[dict-item]
    rid = r.headers["x-request-id"]
    assert rid != bad and len(rid) == 32
    assert r.json() == {"request_id": rid}


def test_valid_request_id() -> None:
    assert valid_request_id("ok-1") == "ok-1"
    assert valid_request_id("x" * 128) == "x" * 128
    assert len(valid_request_id(None)) == 32
    assert len(valid_request_id("")) == 32


async def test_request_id_on_error_responses(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get("/nowhere", headers={"X-Request-ID": "e-1"}),
        await client.get("/items/not-an-int", headers={"X-Request-ID": "e-1"}),
        await client.post("/raw", content=b"x" * (LIMIT + 1), headers={"X-Request-ID": "e-1"}),
    ):
        assert r.headers["x-request-id"] == "e-1", r.status_code


async def test_request_id_on_500(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom", headers={"X-Request-ID": "e-500"})
    assert r.status_code == 500
    assert r.headers.get("x-request-id") == "e-500"


@pytest.mark.parametrize("path", ["/raw", "/model"])
async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient, path: str) -> None:
    body = json.dumps({"text": "a" * (LIMIT - 12)}).encode()
    assert len(body) == LIMIT
    r = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/raw", "/model", "/nowhere", "/rid"])
async def test_oversized_body_with_content_length_is_413(client: httpx.AsyncClient, path: str) -> None:
    body = json.dumps({"text": "a" * LIMIT}).encode()
    r = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.request.headers["content-length"] == str(len(body))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": f"Request body larger than {LIMIT} bytes"}


@pytest.mark.parametrize("path", ["/raw", "/model"])
async def test_oversized_chunked_body_without_content_length_is_413(client: httpx.AsyncClient, path: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 16
        yield b'"}'

    r = await client.post(path, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": f"Request body larger than {LIMIT} bytes"}


async def test_small_chunked_body_passes(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"hi"}'

    r = await client.post("/model", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {"size": 2}


async def test_metrics_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/items/1")
    await client.get("/items/2")
    await client.get("/no/such/path")
    body, content_type = metrics_payload()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/items/{item_id}",service="kernel-test",status="200"}' in text
    assert 'route="/items/1"' not in text  # bounded cardinality: templates, not raw paths
    assert 'route="unmatched",service="kernel-test",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text


def test_json_log_lines_carry_the_request_id() -> None:
    formatter = JsonFormatter("svc")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("rid-1")
    try:
        entry = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert entry["msg"] == "hello world" and entry["service"] == "svc" and entry["request_id"] == "rid-1"
    assert entry["level"] == "INFO" and entry["ts"].endswith("Z")
    assert "request_id" not in json.loads(formatter.format(record))


async def test_a_route_declares_its_own_body_limit() -> None:
    """``max_body_size`` on a route (here through an included router, as the services declare them)
    overrides the process default both ways; everything else keeps the default."""
    from fastapi import APIRouter

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="kernel-test", max_body_bytes=LIMIT)
    router = APIRouter(prefix="/batch")

    @router.post("/big", max_body_size=4 * LIMIT)
    async def big(body: Body) -> dict[str, int]:
        return {"size": len(body.text)}

    @router.post("/small", max_body_size=LIMIT // 2)
    async def small(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @router.post("/default")
    async def default(body: Body) -> dict[str, int]:
        return {"size": len(body.text)}

    app.include_router(router)

    def sized(n: int) -> bytes:
        body = json.dumps({"text": "a" * (n - 12)}).encode()
        assert len(body) == n
        return body

    headers = {"content-type": "application/json"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/batch/big", content=sized(4 * LIMIT), headers=headers)
        assert r.status_code == 200 and r.json() == {"size": 4 * LIMIT - 12}
        r = await c.post("/batch/big", content=sized(4 * LIMIT + 1), headers=headers)
        assert r.status_code == 413 and r.headers["content-type"] == "application/json"
        assert isinstance(r.json()["detail"], str)

        async def chunks(n: int) -> AsyncIterator[bytes]:
            body = sized(n)
            for i in range(0, n, 16):
                yield body[i : i + 16]

        r = await c.post("/batch/big", content=chunks(4 * LIMIT), headers=headers)
        assert r.status_code == 200, r.text
        r = await c.post("/batch/big", content=chunks(4 * LIMIT + 1), headers=headers)
        assert r.status_code == 413
        r = await c.post("/batch/small", content=sized(LIMIT // 2 + 1), headers=headers)
        assert r.status_code == 413
        r = await c.post("/batch/default", content=sized(LIMIT), headers=headers)
        assert r.status_code == 200
        r = await c.post("/batch/default", content=sized(LIMIT + 1), headers=headers)
        assert r.status_code == 413 and r.json() == {"detail": f"Request body larger than {LIMIT} bytes"}
