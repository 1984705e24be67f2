"""Demo tenant for `make run` and the end-to-end tests (idempotent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.db import unit_of_work

from .auth import service

COMPANY = "Demo Energy Community"
SUPERUSER = ("superuser", "superuser-pass")
USERS = {
    "admin": ("demo-admin", "demo-admin-pass"),
    "operator": ("demo-operator", "demo-operator-pass"),
    "member": ("demo-member", "demo-member-pass"),
}
DEVICE = ("demo-device", "demo-device-secret")


async def ensure_demo_tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Create (or restore) the demo superuser, company, users with their roles and device client.

    Returns ids and credentials::

        {"company_id", "company_name", "superuser": {"id", "username", "password"},
         "users": {"admin"|"operator"|"member": {"id", "username", "password", "role"}},
         "device": {"client_id", "client_secret", "company_id"}}

    Membership events are published (through the outbox) only for what actually changed. Running
    gateways pick the changes up through their caches' NOTIFY/poll.
    """
    async with unit_of_work(sessionmaker) as session:
        su = await service.ensure_user(
            session, None, SUPERUSER[0], SUPERUSER[1], superuser=True, email="superuser@demo.gridcommons.org"
        )
        company = await service.ensure_company(session, None, COMPANY)
        users: dict[str, Any] = {}
        for role, (username, password) in USERS.items():
            row = await service.ensure_user(
                session,
                None,
                username,
                password,
                email=f"{username}@demo.gridcommons.org",
                first_name="Demo",
                last_name=role.capitalize(),
            )
            await service.ensure_membership(session, None, row, company["id"], role)
            users[role] = {"id": row["id"], "username": username, "password": password, "role": role}
        await service.ensure_client(session, None, company["id"], DEVICE[0], DEVICE[1], "Demo device")
    return {
        "company_id": company["id"],
        "company_name": COMPANY,
        "superuser": {"id": su["id"], "username": SUPERUSER[0], "password": SUPERUSER[1]},
        "users": users,
        "device": {"client_id": DEVICE[0], "client_secret": DEVICE[1], "company_id": company["id"]},
    }
