"""A database outage: 503 with Retry-After (no trace), one warning per outage, 200 again after it.

A PostgreSQL of its own is started for this module and stopped mid-test; the session-wide one is
untouched.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from gridcommons.app import create_service_app
from gridcommons.db import SessionDep
from gridcommons.devstack import EmbeddedPostgres, free_port
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry
from gridcommons.settings import InfraSettings, ServiceSettings
from gridcommons.testing.plugin import Stack


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(Path(tmp_path_factory.mktemp("outage")) / "pg", free_port(), database="outage")
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


def service_app(url: str) -> FastAPI:
    router = APIRouter()

    @router.get("/count")
    async def count(session: SessionDep) -> dict[str, int]:
        return {"n": (await session.execute(text("SELECT 41 + 1"))).scalar_one()}

    @router.get("/disk")
    async def disk() -> None:
        raise ConnectionRefusedError("not the database")  # an OSError from elsewhere

    return create_service_app(
        name="outage-test",
        title="outage",
        settings=ServiceSettings(infra=InfraSettings(database_url=url)),
        routers=[router],
        configure_logs=False,
    )


SUPERUSER = ("outage-root", "outage-root-pass")


def gateway_app(url: str) -> FastAPI:
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    gateway = next(e for e in load_registry() if e.name == "gateway")
    upgrade(gateway.migrations, url)
    settings = GatewaySettings(infra=InfraSettings(database_url=url), bootstrap_superuser=":".join(SUPERUSER))
    return create_app(settings, configure_logs=False)


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.2)


@pytest.fixture(params=["service", "gateway-route", "gateway-edge"])
async def client(
    request: pytest.FixtureRequest, own_postgres: EmbeddedPostgres, stack: Stack
) -> AsyncIterator[tuple[httpx.AsyncClient, Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]]]:
    companies = itertools.count(10_000_000)
    token: list[str] = []
    if request.param == "service":
        app = service_app(own_postgres.url)

        async def call(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get("/count")

    elif request.param == "gateway-route":
        app = await asyncio.to_thread(gateway_app, own_postgres.url)

        async def call(c: httpx.AsyncClient) -> httpx.Response:
            # A password login (a route of the gateway) reads the users table.
            return await c.post("/auth/token", data={"grant_type": "password", "username": "nobody", "password": "x"})

    else:
        app = await asyncio.to_thread(gateway_app, own_postgres.url)

        async def call(c: httpx.AsyncClient) -> httpx.Response:
            # A proxied route: the edge middleware looks the company up (a new one each time, so
            # never from its cache) before it would call the service.
            headers = {"Authorization": f"Bearer {token[0]}", "CompanyID": str(next(companies))}
            return await c.get("/api/assets", headers=headers)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        if request.param == "gateway-edge":
            login = {"grant_type": "password", "username": SUPERUSER[0], "password": SUPERUSER[1]}
            token.append((await c.post("/auth/token", data=login)).json()["access_token"])
        yield c, call


async def test_database_outage_is_a_503_logged_once(
    client: tuple[httpx.AsyncClient, Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]],
    own_postgres: EmbeddedPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    c, call = client
    healthy = (await call(c)).status_code
    # the service's count, the gateway's refused login (invalid_grant), a company that does not exist
    assert healthy in (200, 400, 403), healthy
    caplog.set_level(logging.INFO)
    caplog.clear()
    own_postgres.stop()
    try:
        responses = [await call(c) for _ in range(20)]
        ready = await c.get("/readyz")
    finally:
        own_postgres.start()
    for r in responses:
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "5"
        assert r.json() == {"detail": "Database unavailable; retry later"}
        assert "Traceback" not in r.text
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
    await until(lambda: _status_is(call, c, healthy), timeout=30)
    await until(lambda: _logged(caplog, "database reachable again"), timeout=10)
    errors = [r for r in caplog.records if r.name == "gridcommons.errors" or r.levelno >= logging.ERROR]
    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in errors] == [
        ("WARNING", "database unavailable"),
        ("INFO", "database reachable again"),
    ], [r.getMessage() for r in errors]
    assert all(r.exc_info is None for r in caplog.records), "no traceback in the logs"


async def _status_is(
    call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], c: httpx.AsyncClient, status: int
) -> bool:
    return (await call(c)).status_code == status


async def _logged(caplog: pytest.LogCaptureFixture, message: str) -> bool:
    return any(r.getMessage() == message for r in caplog.records)


async def test_an_oserror_from_elsewhere_is_no_database_outage(own_postgres: EmbeddedPostgres, stack: Stack) -> None:
    app = service_app(own_postgres.url)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/disk")
        assert r.status_code == 500 and r.json() == {"detail": "Internal server error"}
        assert "Retry-After" not in r.headers
        assert (await c.get("/count")).json() == {"n": 42}
