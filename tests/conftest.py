"""Session-wide fixtures come from the kernel's test plugin (gridcommons.testing): the real stack,
``migrated`` (every registry service at head), ``internal_headers``, ``company_id``. Here: the
asset-service app, used by the asset-service and the kernel event tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asset_service.app import create_app
from asset_service.settings import AssetSettings
from gridcommons.testing.plugin import Stack


@pytest.fixture(scope="session")
async def asset_app(migrated: Stack) -> AsyncIterator[object]:
    app = create_app(AssetSettings(), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def asset_client(asset_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=asset_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://asset-service") as client:
        yield client
