"""The contract between the gateway's auth package and its edge (proxy) package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gridcommons.identity import Identity


@dataclass(frozen=True)
class Principal:
    """Who presented a valid, unrevoked bearer token."""

    kind: str  # "user" | "client"
    subject: str  # user id (as str) or machine client id
    username: str | None
    superuser: bool
    jti: str
    expires_at: datetime
    company_id: int | None = None  # machine clients belong to exactly one company
    request_budget_per_minute: int | None = (
        None  # machine clients: requests/minute the edge allows (None = the gateway's default budget)
    )


class Authenticator(Protocol):
    async def authenticate(self, authorization_header: str | None) -> Principal:
        """Verify ``Authorization: Bearer ...``; raise gridcommons.errors.Unauthorized (401) otherwise."""
        ...

    async def identity_for(self, principal: Principal, company_header: str | None) -> Identity:
        """Apply the CompanyID rules (400 missing/not a number, 403 not a member or unknown) and
        return the Identity (subject, company, roles) to forward to services."""
        ...
