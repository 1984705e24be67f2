"""Session-wide: the real stack (kernel plugin), every service's migrations, identity helpers."""

from __future__ import annotations

import asyncio

import pytest

from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry
from gridcommons.testing.plugin import Stack


@pytest.fixture(scope="session")
async def migrated(stack: Stack) -> Stack:
    for entry in load_registry():
        if (entry.migrations / "env.py").exists():
            await asyncio.to_thread(upgrade, entry.migrations, stack.database_url)
    return stack


@pytest.fixture(scope="session")
def identity_signer(stack: Stack) -> IdentitySigner:
    return IdentitySigner(stack.internal_private_pem)


@pytest.fixture(scope="session")
def internal_headers(identity_signer: IdentitySigner):
    """headers(company_id, *roles) -> the header a gateway would attach for such a caller."""

    counter = iter(range(1, 10**9))

    def make(company_id: int | None, *roles: str, subject: str | None = None) -> dict[str, str]:
        ident = Identity(
            subject=subject or f"user-{next(counter)}",
            kind="client" if roles == ("device",) else "user",
            company_id=company_id,
            roles=frozenset(roles),
        )
        return {INTERNAL_IDENTITY_HEADER: identity_signer.sign(ident)}

    return make


_company_ids = iter(range(1_000_000, 2_000_000))


@pytest.fixture
def company_id() -> int:
    """A company id no other test uses: tests isolate by tenant instead of truncating."""
    return next(_company_ids)
