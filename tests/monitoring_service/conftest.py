"""monitoring-service tests: the app with its workers in process (outbox relay, consumers: community
registry replica, ingest.logs.v1, metering.unit-data.v1; the logs' partition maintainer) over the
session's real PostgreSQL and broker. The job runners are off: tests run passes themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready
from monitoring_service.app import create_app
from monitoring_service.settings import MonitoringSettings


@pytest.fixture(scope="session")
async def monitoring_app(migrated: Stack) -> AsyncIterator[FastAPI]:
    app = create_app(MonitoringSettings(jobs_enabled=False), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitoring") as client:
            ready = await wait_ready(client)
            assert ready.status_code == 200, ready.text
        yield app


@pytest.fixture
async def monitoring_client(monitoring_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=monitoring_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitoring-service") as client:
        yield client
