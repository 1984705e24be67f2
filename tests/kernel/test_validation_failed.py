"""gridcommons.errors.ValidationFailed: a domain error rendered exactly as FastAPI's 422, and the
``responses()`` helper that documents the error classes an operation raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from gridcommons.errors import (
    Conflict,
    ErrorBody,
    NotFound,
    ValidationFailed,
    field_error,
    install_error_handlers,
    responses,
)

ITEMS: list[dict[str, Any]] = [
    field_error(["query", "to"], "to must be after from", "2026-01-01T00:00:00Z"),
    field_error(["body", "statuses", 3, "asset_id"], "unknown asset id X\ud800", float("nan")),
]


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fastapi")
    async def fastapi_validation(n: int) -> dict[str, int]:
        return {"n": n}

    @app.get("/domain-like-fastapi")
    async def domain_like_fastapi() -> None:
        # The very items FastAPI produces for ?n=x on /fastapi.
        raise ValidationFailed([{"type": "int_parsing", "loc": ["query", "n"], "msg": _INT_MSG, "input": "x"}])

    @app.get("/request-validation-error")
    async def request_validation_error() -> None:
        raise RequestValidationError(ITEMS)

    @app.get("/validation-failed")
    async def validation_failed() -> None:
        raise ValidationFailed(ITEMS)

    @app.get("/documented/{x}", responses=responses((NotFound, "No such x"), Conflict, ValidationFailed))
    async def documented(x: int) -> None:
        raise NotFound("no")

    return app


_INT_MSG = "Input should be a valid integer, unable to parse string as an integer"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_rendered_like_fastapis_own_422(client: httpx.AsyncClient) -> None:
    own = await client.get("/fastapi", params={"n": "x"})
    domain = await client.get("/domain-like-fastapi")
    assert own.status_code == domain.status_code == 422
    assert domain.content == own.content
    assert domain.headers["content-type"] == own.headers["content-type"]


async def test_same_body_as_the_request_validation_error_it_replaces(client: httpx.AsyncClient) -> None:
    before = await client.get("/request-validation-error")
    after = await client.get("/validation-failed")
    assert before.status_code == after.status_code == 422
    assert after.content == before.content
    assert after.json() == {
        "detail": [
            {
                "loc": ["query", "to"],
                "msg": "to must be after from",
                "type": "value_error",
                "input": "2026-01-01T00:00:00Z",
            },
            {
                "loc": ["body", "statuses", 3, "asset_id"],
                "msg": "unknown asset id X\\ud800",
                "type": "value_error",
                "input": "NaN",
            },
        ]
    }


def test_is_a_domain_error_with_its_items_and_reason() -> None:
    exc = ValidationFailed.at(["body", "asset_id"], "unknown asset id A", "A")
    assert exc.status_code == 422
    assert exc.errors == [
        {"loc": ["body", "asset_id"], "msg": "unknown asset id A", "type": "value_error", "input": "A"}
    ]
    assert exc.reason == str(exc) == exc.detail == "body.asset_id: unknown asset id A"
    assert ValidationFailed(ITEMS).reason.startswith("query.to: to must be after from; body.statuses.3.asset_id: ")


async def test_responses_documents_the_error_classes(client: httpx.AsyncClient) -> None:
    assert responses(NotFound) == {404: {"description": "Not found", "model": ErrorBody}}
    doc = (await client.get("/openapi.json")).json()
    documented = doc["paths"]["/documented/{x}"]["get"]["responses"]
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    assert documented["404"] == {"description": "No such x", "content": error_body}
    assert documented["409"] == {"description": "Conflict", "content": error_body}
    assert documented["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"
    }
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]
    r = await client.get("/documented/1")
    assert r.status_code == 404 and r.json() == {"detail": "no"}
