"""gridcommons.pagination: limit 1..1000 (default 50), offset >= 0, 422 outside."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from gridcommons.errors import install_error_handlers
from gridcommons.pagination import Page, PageParams


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(page: PageParams) -> dict[str, int]:
        assert isinstance(page, Page)
        return {"limit": page.limit, "offset": page.offset}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_defaults(client: httpx.AsyncClient) -> None:
    assert (await client.get("/items")).json() == {"limit": 50, "offset": 0}


@pytest.mark.parametrize(
    "params",
    [{"limit": 1}, {"limit": 1000}, {"offset": 0}, {"offset": 2_147_483_647}, {"limit": 7, "offset": 3}],
)
async def test_accepted(client: httpx.AsyncClient, params: dict[str, int]) -> None:
    r = await client.get("/items", params=params)
    assert r.status_code == 200
    assert r.json() == {"limit": 50, "offset": 0} | params


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": -1},
        {"offset": -1},
        {"offset": 2_147_483_648},
        {"limit": "ten"},
        {"offset": "1.5"},
    ],
)
async def test_out_of_bounds_is_422(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    r = await client.get("/items", params=params)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"][0] == "query"
    assert detail[0]["loc"][1] == next(iter(params))


async def test_bounds_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/items"]["get"]["parameters"]}
    assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == 1000 and params["limit"]["default"] == 50
    assert params["offset"]["minimum"] == 0
