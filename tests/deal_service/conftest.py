"""deal-service tests: the app with its workers in process (outbox relay, consumers: community
registry replica, ingest.deals.v1, metering.unit-data.v1) over the session's real PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from deal_service.app import create_app
from deal_service.settings import DealSettings
from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready


@pytest.fixture(scope="session")
async def deal_app(migrated: Stack) -> AsyncIterator[FastAPI]:
    # The silence check runs on the wall clock: its tests drive it with their own clock instead.
    app = create_app(DealSettings(downtime_check_interval_sec=0), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://deal") as client:
            ready = await wait_ready(client)
            assert ready.status_code == 200, ready.text
        yield app


@pytest.fixture
async def deal_client(deal_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=deal_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://deal-service") as client:
        yield client
