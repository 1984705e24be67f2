"""Who presented a valid bearer token: what the gateway's auth package (``GatewayAuthenticator``)
hands its edge (proxy) package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
