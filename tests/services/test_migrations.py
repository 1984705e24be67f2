"""Every registry service's migrations: head matches the models (autogenerate finds nothing),
downgrade to base leaves the schema empty, upgrading again builds the same schema."""

from __future__ import annotations

import pytest

from gridcommons.registry import ServiceEntry, load_registry
from gridcommons.testing.migrations import check_service_migrations, scratch_database
from gridcommons.testing.plugin import Stack

SERVICES = load_registry()


def test_every_registry_service_has_migrations() -> None:
    assert SERVICES and all((s.migrations / "env.py").exists() for s in SERVICES), [s.name for s in SERVICES]


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_migrations_match_models_and_downgrade(service: ServiceEntry, stack: Stack) -> None:
    async with scratch_database(stack.database_url) as url:
        await check_service_migrations(service.migrations, url)
