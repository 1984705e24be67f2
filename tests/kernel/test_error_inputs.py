"""gridcommons.errors for hostile input: every 422 renders, JSON numbers are kept as written or refused,
integrity errors from the database are 409/422, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gridcommons.errors import NotFound, ValidationFailed, field_error, install_error_handlers, json_safe
from gridcommons.observability import RequestContextMiddleware

JSON = {"content-type": "application/json"}


class Body(BaseModel):
    n: int


class Anything(BaseModel):
    value: Any = None


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=4096)

    @app.post("/int")
    async def take_int(b: Body) -> dict[str, int]:
        return {"n": b.n}

    @app.post("/any")
    async def take_any(b: Anything) -> dict[str, Any]:
        return {"value": b.value}

    @app.get("/domain")
    async def domain() -> None:
        raise NotFound("no asset a\udc80b")

    @app.get("/http")
    async def http() -> None:
        raise HTTPException(409, detail={"why": float("nan")})

    @app.get("/refuse/{kind}")
    async def refuse(kind: str) -> None:
        values: dict[str, Any] = {
            "nan": float("nan"),
            "inf": float("inf"),
            "-inf": float("-inf"),
            "surrogate": "a\ud800b",
            "bytes": b"\xff\xfe",
            "huge": 10**5000,
            "nested": {"k\udfff": [float("nan"), {"deep": b"\x80"}]},
        }
        raise ValidationFailed([field_error(["body", "x"], "refused", values[kind])])

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.mark.parametrize(
    ("kind", "rendered"),
    [
        ("nan", "NaN"),
        ("inf", "Infinity"),
        ("-inf", "-Infinity"),
        ("surrogate", "a\\ud800b"),
        ("bytes", "\\xff\\xfe"),
        ("nested", {"k\\udfff": ["NaN", {"deep": "\\x80"}]}),
    ],
)
async def test_a_422_renders_any_input(client: httpx.AsyncClient, kind: str, rendered: Any) -> None:
    r = await client.get(f"/refuse/{kind}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"loc": ["body", "x"], "msg": "refused", "type": "value_error", "input": rendered}]


async def test_a_422_renders_an_integer_too_long_to_print(client: httpx.AsyncClient) -> None:
    r = await client.get("/refuse/huge")
    assert r.status_code == 422
    assert r.json()["detail"][0]["input"] == "<integer of about 5000 digits>"


async def test_a_lone_surrogate_in_a_json_body_is_a_422(client: httpx.AsyncClient) -> None:
    # "\ud800" is valid JSON text that decodes to a lone surrogate: the int field refuses it, the
    # handler echoes it escaped (was: UnicodeEncodeError while rendering → 500).
    r = await client.post("/int", content=b'{"n": "\\ud800"}', headers=JSON)
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["loc"] == ["body", "n"] and err["input"] == "\\ud800"


@pytest.mark.parametrize(
    "token", ["NaN", "Infinity", "-Infinity", "1e400", "-1E+400", "1e-400", "0.12345678901234567890123"]
)
@pytest.mark.parametrize("path", ["/int", "/any"])
async def test_json_numbers_not_kept_as_written_are_refused(client: httpx.AsyncClient, path: str, token: str) -> None:
    """Python's parser takes NaN/Infinity and turns 1e400 into inf, 1e-400 into 0, 0.1234...
    into a rounded double: each is a 422 before the endpoint runs (was: a 500 or a silent change)."""
    key = "n" if path == "/int" else "value"
    r = await client.post(path, content=f'{{"{key}": [1, {token}]}}'.encode(), headers=JSON)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["type"] == "json_invalid" and err["loc"] == ["body"] and err["input"] == token
    assert token in err["msg"]


@pytest.mark.parametrize(
    ("token", "value"),
    [("1.5", 1.5), ("0.1", 0.1), ("1e2", 100.0), ("0.30000000000000004", 0.30000000000000004), ("-0.0", 0.0)],
)
async def test_json_numbers_a_double_keeps_pass(client: httpx.AsyncClient, token: str, value: float) -> None:
    r = await client.post("/any", content=f'{{"value": {token}}}'.encode(), headers=JSON)
    assert r.status_code == 200, r.text
    assert r.json() == {"value": value}


async def test_integers_stay_exact_and_strings_may_say_nan(client: httpx.AsyncClient) -> None:
    big = 12345678901234567890123456789
    r = await client.post("/int", content=f'{{"n": {big}}}'.encode(), headers=JSON)
    assert r.status_code == 200 and r.json() == {"n": big}
    r = await client.post("/any", json={"value": ["NaN", "Infinity", "1e400"]})
    assert r.status_code == 200 and r.json() == {"value": ["NaN", "Infinity", "1e400"]}


async def test_non_json_bodies_and_chunked_bodies(client: httpx.AsyncClient) -> None:
    r = await client.post("/int", content=b'{"n": NaN}', headers={"content-type": "text/plain"})
    assert r.status_code == 422  # FastAPI does not parse it as JSON: refused by the model, rendered safely

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"n":'
        yield b" 7}"

    r = await client.post("/int", content=chunks(), headers=JSON)
    assert r.status_code == 200 and r.json() == {"n": 7}

    async def bad_chunks() -> AsyncIterator[bytes]:
        yield b'{"n": 1, "x": Na'
        yield b"N}"

    r = await client.post("/int", content=bad_chunks(), headers=JSON)
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "NaN"
    # the body limit still applies (the outer middleware counts what this one reads)
    r = await client.post("/any", content=b'{"value": "' + b"x" * 5000 + b'"}', headers=JSON)
    assert r.status_code == 413
    # not JSON at all: the app's own parser answers as before
    r = await client.post("/int", content=b"{nope", headers=JSON)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


async def test_domain_and_http_details_render_safely(client: httpx.AsyncClient) -> None:
    r = await client.get("/domain")
    assert r.status_code == 404 and r.json() == {"detail": "no asset a\\udc80b"}
    r = await client.get("/http")
    assert r.status_code == 409 and r.json() == {"detail": {"why": "NaN"}}


def test_json_safe_leaves_plain_values_alone() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": "é"}}
    assert json_safe(value) == value


# ---------------------------------------------------------------- integrity errors from PostgreSQL


async def test_integrity_errors_are_409_or_422(stack: Any) -> None:
    engine = create_async_engine(stack.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS public.ie_child, public.ie_parent, public.ie_range"))
        await conn.execute(
            text("CREATE TABLE public.ie_parent (id int PRIMARY KEY, name text UNIQUE, n int CHECK (n >= 0))")
        )
        await conn.execute(text("CREATE TABLE public.ie_child (id int PRIMARY KEY, parent int REFERENCES ie_parent)"))
        await conn.execute(text("CREATE TABLE public.ie_range (r int4range, EXCLUDE USING gist (r WITH &&))"))
        await conn.execute(text("INSERT INTO public.ie_parent VALUES (1, 'one', 1)"))
        await conn.execute(text("INSERT INTO public.ie_child VALUES (1, 1)"))
        await conn.execute(text("INSERT INTO public.ie_range VALUES ('[1,10)')"))
    statements = {
        "fk-insert": "INSERT INTO public.ie_child VALUES (2, 99)",
        "fk-delete": "DELETE FROM public.ie_parent WHERE id = 1",
        "unique": "INSERT INTO public.ie_parent VALUES (2, 'one', 1)",
        "check": "INSERT INTO public.ie_parent VALUES (3, 'three', -1)",
        "not-null": "INSERT INTO public.ie_parent (name) VALUES ('x')",
        "exclusion": "INSERT INTO public.ie_range VALUES ('[5,6)')",
    }
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/sql/{name}")
    async def run(name: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text(statements[name]))

    expected = {
        "fk-insert": (422, "A referenced resource does not exist (it may have been deleted meanwhile)"),
        "fk-delete": (409, "The resource is still referenced by other resources"),
        "unique": (409, "Conflicts with an existing resource"),
        "check": (422, "Invalid input value"),
        "not-null": (422, "A required value is missing"),
        "exclusion": (409, "Conflicts with an existing resource (overlap)"),
    }
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        got = {}
        for name in statements:
            r = await client.post(f"/sql/{name}")
            detail = r.json()["detail"]
            if r.status_code == 422:  # the documented 422 shape: FastAPI's list of errors
                (err,) = detail
                detail = err["msg"]
            got[name] = (r.status_code, detail)
            assert "ie_" not in r.text  # no table or constraint names
    assert got == expected
    async with engine.begin() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM public.ie_parent"))).scalar_one() == 1
        await conn.execute(text("DROP TABLE public.ie_child, public.ie_parent, public.ie_range"))
    await engine.dispose()
    await asyncio.sleep(0)
