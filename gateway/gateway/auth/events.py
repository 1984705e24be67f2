"""Events the gateway publishes on ``gateway.membership.v1`` (key: company id, so that the changes
of one company stay in order). Services keep their replica of memberships and roles from it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .db import outbox

TOPIC = "gateway.membership.v1"
CHANGED = "org.gridcommons.gateway.membership.changed"


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
    data: dict[str, Any] = {
        "company_id": company_id,
        "kind": kind,
        "user_id": user_id,
        "client_id": client_id,
        "username": username,
        "role": role,
    }
    subject = f"user:{user_id}" if kind == "user" else f"client:{client_id}"
    await outbox.publish(
        session, topic=TOPIC, type=CHANGED, subject=subject, data=data, company_id=company_id, key=str(company_id)
    )
