"""metering-service tests: its app with the workers in process (relay, partitions, Kafka ingestion)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from gridcommons.testing.plugin import Stack
from metering_service.app import create_app
from metering_service.settings import MeteringSettings


@pytest.fixture(scope="session")
async def metering_app(migrated: Stack) -> AsyncIterator[object]:
    app = create_app(MeteringSettings(), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def metering_client(metering_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=metering_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://metering-service", timeout=60) as client:
        yield client


@pytest.fixture
async def db(migrated: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated.database_url.replace("+asyncpg", ""))
    try:
        yield conn
    finally:
        await conn.close()


async def outbox_events(conn: asyncpg.Connection, company_id: int, type_: str) -> list[dict[str, Any]]:
    """The company's outbox rows of one event type, in order, each as topic, key and the CloudEvent's fields."""
    rows = await conn.fetch(
        "SELECT topic, key, payload FROM metering.outbox WHERE payload->>'companyid' = $1 AND payload->>'type' = $2 "
        "ORDER BY seq",
        str(company_id),
        type_,
    )
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]
