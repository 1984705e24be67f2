"""gridcommons.errors: {"detail": ...} bodies, domain errors mapped to their status, never a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from gridcommons.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
    install_error_handlers,
)
from gridcommons.observability import RequestContextMiddleware

SECRET = "db-password-hunter2 in a stack frame"


class Body(BaseModel):
    n: int


def make_app(with_middleware: bool) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    if with_middleware:
        app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=1024)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @app.get("/boom-sync")
    def boom_sync() -> None:
        raise KeyError(SECRET)

    @app.get("/domain/{kind}")
    async def domain(kind: str) -> None:
        errors: dict[str, DomainError] = {
            "base": DomainError("bad request"),
            "not-found": NotFound("no such thing"),
            "conflict": Conflict("already there"),
            "forbidden": Forbidden("not yours"),
            "unauthorized": Unauthorized("who are you", headers={"WWW-Authenticate": "Bearer"}),
            "custom": DomainError("slow down", status_code=429, headers={"Retry-After": "3"}),
        }
        raise errors[kind]

    @app.get("/http")
    async def http() -> None:
        raise HTTPException(status_code=409, detail="from fastapi")

    @app.post("/body")
    async def body(b: Body) -> dict[str, int]:
        return {"n": b.n}

    return app


@pytest.fixture(params=[False, True], ids=["bare", "with-request-context"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises after sending the 500, as uvicorn would log it.
    transport = httpx.ASGITransport(app=make_app(request.param), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.mark.parametrize("path", ["/boom", "/boom-sync"])
async def test_unexpected_exception_is_a_bare_500(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal server error"}
    assert r.headers["content-type"] == "application/json"
    assert SECRET not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [
        ("base", 400, "bad request"),
        ("not-found", 404, "no such thing"),
        ("conflict", 409, "already there"),
        ("forbidden", 403, "not yours"),
        ("unauthorized", 401, "who are you"),
        ("custom", 429, "slow down"),
    ],
)
async def test_domain_errors_map_to_their_status(
    client: httpx.AsyncClient, kind: str, status: int, detail: str
) -> None:
    r = await client.get(f"/domain/{kind}")
    assert r.status_code == status
    assert r.json() == {"detail": detail}


async def test_domain_error_headers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/domain/unauthorized")).headers["www-authenticate"] == "Bearer"
    assert (await client.get("/domain/custom")).headers["retry-after"] == "3"


def test_status_codes_of_the_classes() -> None:
    assert [c.status_code for c in (DomainError, NotFound, Conflict, Forbidden, Unauthorized, ValidationFailed)] == [
        400,
        404,
        409,
        403,
        401,
        422,
    ]
    assert NotFound("x", status_code=410).status_code == 410
    assert NotFound.status_code == 404  # the override is per instance


async def test_http_exceptions_and_unknown_routes(client: httpx.AsyncClient) -> None:
    r = await client.get("/http")
    assert r.status_code == 409 and r.json() == {"detail": "from fastapi"}
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = await client.delete("/http")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


async def test_validation_errors_are_fastapi_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/body", json={"n": "x"})
    assert r.status_code == 422
    err = r.json()["detail"][0]
    assert err["loc"] == ["body", "n"] and err["type"] == "int_parsing"
    r = await client.post("/body", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = await client.post("/body", content=b'{"n": "\xff"}', headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)


async def test_values_the_database_refuses_are_422_not_500(stack) -> None:
    """Safety net: a NUL byte in text reaches PostgreSQL (SQLSTATE 22021) -> 422, never a 500."""
    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from gridcommons.errors import install_error_handlers

    engine = create_async_engine(stack.database_url)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/echo")
    async def echo(value: str) -> dict[str, str]:
        async with engine.connect() as conn:
            return {"value": (await conn.execute(text("SELECT CAST(:v AS text)"), {"v": value})).scalar_one()}

    @app.get("/broken")
    async def broken() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table_anywhere"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/echo", params={"value": "ok"})).json() == {"value": "ok"}
        r = await client.get("/echo", params={"value": "a\x00b"})
        assert r.status_code == 422 and r.json() == {
            "detail": [{"type": "value_error", "loc": ["body"], "msg": "Invalid input value", "input": None}]
        }
        r = await client.get("/broken")
        assert r.status_code == 500 and r.json() == {"detail": "Internal server error"}
    await engine.dispose()


async def test_a_deadlock_with_a_concurrent_request_is_409(stack) -> None:
    """Two transactions locking two rows in opposite order: PostgreSQL aborts one (40P01) → 409 + Retry-After."""
    import asyncio

    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from gridcommons.errors import install_error_handlers

    engine = create_async_engine(stack.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS public.deadlock_probe (id int primary key)"))
        await conn.execute(text("INSERT INTO public.deadlock_probe VALUES (1), (2) ON CONFLICT DO NOTHING"))
    both_hold_one = asyncio.Barrier(2)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/lock/{first}/{second}")
    async def lock(first: int, second: int) -> dict[str, bool]:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1 FROM public.deadlock_probe WHERE id = :i FOR UPDATE"), {"i": first})
            await both_hold_one.wait()
            await conn.execute(text("SELECT 1 FROM public.deadlock_probe WHERE id = :i FOR UPDATE"), {"i": second})
        return {"ok": True}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
        a, b = await asyncio.gather(client.post("/lock/1/2"), client.post("/lock/2/1"))
    assert sorted([a.status_code, b.status_code]) == [200, 409]
    refused = a if a.status_code == 409 else b
    assert (
        refused.json() == {"detail": "Conflicting concurrent request; retry"} and refused.headers["retry-after"] == "1"
    )
    await engine.dispose()


async def test_405_allow_names_every_method_of_the_path() -> None:
    """FastAPI adds one route per method; the Allow of a 405 lists the methods of all of them."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{thing_id}")
    async def get_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.patch("/things/{thing_id}")
    async def patch_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.delete("/things/{thing_id}")
    async def delete_thing(thing_id: str) -> None:
        return None

    @app.post("/things")
    async def create_thing() -> None:
        return None

    from fastapi import APIRouter

    router = APIRouter(prefix="/included")  # the services declare their routes on included routers

    @router.get("/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @router.put("/{item_id}")
    async def put_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app.include_router(router)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.delete("/included/i1")
        assert r.status_code == 405 and r.headers["allow"] == "GET, PUT"
        r = await c.options("/things/x1")
        assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
        assert r.headers["allow"] == "DELETE, GET, PATCH"
        r = await c.put("/things/x1")
        assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, PATCH"
        r = await c.get("/things")
        assert r.status_code == 405 and r.headers["allow"] == "POST"
