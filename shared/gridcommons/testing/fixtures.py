"""Fixtures every service's tests start with (registered by the ``gridcommons.testing.plugin``).

- ``migrated``: the session's stack with every registry service's migrations at head.
- ``identity_signer`` / ``internal_headers``: the internal identity header a gateway would attach.
- ``company_id``: a company id no other test uses (tests isolate by tenant instead of truncating).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING

import pytest

from ..identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner
from ..migrations import upgrade
from ..registry import load_registry

if TYPE_CHECKING:
    from .plugin import Stack

InternalHeaders = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
async def migrated(stack: Stack) -> Stack:
    """The stack with every registry service's migrations upgraded to head."""
    for entry in load_registry():
        if (entry.migrations / "env.py").exists():
            await asyncio.to_thread(upgrade, entry.migrations, stack.database_url)
    return stack


@pytest.fixture(scope="session")
def identity_signer(stack: Stack) -> IdentitySigner:
    return IdentitySigner(stack.internal_private_pem)


@pytest.fixture(scope="session")
def internal_headers(identity_signer: IdentitySigner) -> InternalHeaders:
    """headers(company_id, *roles, subject=None) -> the header a gateway would attach for such a caller
    (kind ``client`` for the single role ``device``, otherwise ``user``)."""

    counter = count(1)

    def make(company_id: int | None, *roles: str, subject: str | None = None) -> dict[str, str]:
        ident = Identity(
            subject=subject or f"user-{next(counter)}",
            kind="client" if roles == ("device",) else "user",
            company_id=company_id,
            roles=frozenset(roles),
        )
        return {INTERNAL_IDENTITY_HEADER: identity_signer.sign(ident)}

    return make


_company_ids = count(1_000_000)


@pytest.fixture
def company_id() -> int:
    """A company id no other test uses."""
    return next(_company_ids)
