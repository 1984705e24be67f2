from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from gwhelpers import SUPERUSER, client_for, make_company, superuser_token

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gridcommons.testing.plugin import Stack


@pytest.fixture(scope="session")
async def gateway_app(migrated: Stack) -> AsyncIterator[FastAPI]:
    # Tests register many users per client address; the registration limit has its own test.
    settings = GatewaySettings(bootstrap_superuser=":".join(SUPERUSER), registrations_per_address=100_000)
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(gateway_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway_app) as c:
        yield c


@pytest.fixture
async def su(client: httpx.AsyncClient) -> str:
    """A superuser token for this test."""
    return await superuser_token(client)


@pytest.fixture
async def tenant(client: httpx.AsyncClient, su: str) -> dict[str, Any]:
    return await make_company(client, su)
