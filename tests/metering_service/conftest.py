"""metering-service tests: its app with the workers in process (relay, partitions, Kafka ingestion)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from gridcommons.testing.plugin import Stack
from metering_service.app import create_app
from metering_service.settings import MeteringSettings


@pytest.fixture(scope="session")
async def metering_app(migrated: Stack) -> AsyncIterator[object]:
    # pollers: test_poller*; unit data retention off: the tests' fixed dates must not expire as the calendar
    # moves on (test_unit_data_retention sets its own)
    settings = MeteringSettings(modbus_poll=False, unit_data_retention_days=0)
    app = create_app(settings, run_workers_in_process=True)
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
