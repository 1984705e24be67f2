"""community-service tests: the app (with its outbox relay and membership replica consumer in process),
an HTTP client over it, and helpers that build a registry through the API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from registry_helpers import BASE, make_registry  # noqa: F401  (re-exported for the tests)
from sqlalchemy import text

from community_service.app import create_app
from community_service.settings import CommunitySettings
from gridcommons.db import make_engine
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack

_users = itertools.count(7_700_000)
_companies = itertools.count(8_700_000)


@pytest.fixture(scope="session")
async def community_app(migrated: Stack) -> AsyncIterator[object]:
    app = create_app(CommunitySettings(), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def community_client(community_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=community_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://community-service") as client:
        yield client


@pytest.fixture
def other_company() -> int:
    """A second company no other test uses (tenant isolation)."""
    return next(_companies)


@pytest.fixture
def new_user_id() -> Callable[[], int]:
    return lambda: next(_users)


@pytest.fixture(scope="session")
async def db(migrated: Stack) -> AsyncIterator[Any]:
    engine = make_engine(InfraSettings(), application_name="community-tests")
    yield engine
    await engine.dispose()


@pytest.fixture
def add_member(db: Any) -> Callable[..., Any]:
    """Writes a membership replica row, as the consumer of gateway.membership.v1 would."""

    async def add(company_id: int, user_id: int, role: str = "member", username: str | None = None) -> None:
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO community.memberships (company_id, kind, member, role, username) "
                    "VALUES (:c, 'user', :m, :r, :u) ON CONFLICT (company_id, kind, member) DO UPDATE SET role = :r"
                ),
                {"c": company_id, "m": str(user_id), "r": role, "u": username or f"user{user_id}"},
            )

    return add
