"""Events the gateway publishes through its outbox; services keep replicas from them
(``gridcommons.replicas``, which also holds the payload schemas):

- ``gateway.membership.v1`` (key: company id, so that the changes of one company stay in order):
  memberships and roles, machine clients (role ``device``);
- ``gateway.token.v1`` (key: the jti): ``token.revoked`` for every revoked bearer token, with its
  expiry (the services refuse it on their Kafka ingestion doors)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.replicas import (
    MEMBERSHIP_CHANGED,
    MEMBERSHIP_TOPIC,
    TOKEN_REVOKED,
    TOKEN_TOPIC,
    MembershipChangedV1,
    TokenRevokedV1,
)

from .db import outbox

TOPIC = MEMBERSHIP_TOPIC
CHANGED = MEMBERSHIP_CHANGED
TOPICS = {MEMBERSHIP_TOPIC: {MEMBERSHIP_CHANGED}, TOKEN_TOPIC: {TOKEN_REVOKED}}  # everything published here
PAYLOADS = {MEMBERSHIP_CHANGED: MembershipChangedV1, TOKEN_REVOKED: TokenRevokedV1}


async def tokens_revoked(session: AsyncSession, rows: Sequence[tuple[str, float]]) -> None:
    """``rows`` (jti, exp epoch) were revoked in this transaction: one ``token.revoked`` each."""
    events = [
        (jti, TokenRevokedV1(jti=jti, expires_at=datetime.fromtimestamp(exp, UTC)).model_dump(mode="json"))
        for jti, exp in rows
    ]
    await outbox.publish_many(session, topic=TOKEN_TOPIC, type=TOKEN_REVOKED, company_id=None, events=events)


async def membership_changed(
    session: AsyncSession,
    *,
    company_id: int,
    kind: str,  # "user" | "client"
    role: str | None,  # None: the membership was removed (or the machine client revoked)
    user_id: int | None = None,
    client_id: str | None = None,
    username: str | None = None,
) -> None:
    data: dict[str, Any] = MembershipChangedV1.model_validate(
        {
            "company_id": company_id,
            "kind": kind,
            "user_id": user_id,
            "client_id": client_id,
            "username": username,
            "role": role,
        }
    ).model_dump(mode="json")
    subject = f"user:{user_id}" if kind == "user" else f"client:{client_id}"
    await outbox.publish(
        session, topic=TOPIC, type=CHANGED, subject=subject, data=data, company_id=company_id, key=str(company_id)
    )
