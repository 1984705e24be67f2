"""SQL of the gateway's identity domain (users, companies, memberships, machine clients, tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import (
    companies,
    directory_changes,
    invitations,
    machine_clients,
    memberships,
    refresh_tokens,
    tokens,
    users,
)

__all__ = ["AsyncSession"]


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row._mapping) if row is not None else None


# ----------------------------------------------------------------------------- users
async def insert_user(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """None when the username is taken (case-insensitively)."""
    stmt = insert(users).values(**values).on_conflict_do_nothing().returning(*users.c)
    return _one((await session.execute(stmt)).first())


async def get_user(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    return _one((await session.execute(select(users).where(users.c.id == user_id))).first())


async def get_user_by_username(session: AsyncSession, username: str) -> dict[str, Any] | None:
    return _one((await session.execute(select(users).where(users.c.username == username))).first())


async def get_active_user_by_username(session: AsyncSession, username: str) -> dict[str, Any] | None:
    stmt = select(users).where(func.lower(users.c.username) == username.lower(), users.c.is_active.is_(True))
    return _one((await session.execute(stmt)).first())


async def get_only_active_user_by_email(session: AsyncSession, email: str) -> dict[str, Any] | None:
    """The active user with this e-mail (case-insensitively), if exactly one has it."""
    stmt = select(users).where(func.lower(users.c.email) == email.lower(), users.c.is_active.is_(True)).limit(2)
    rows = (await session.execute(stmt)).all()
    return dict(rows[0]._mapping) if len(rows) == 1 else None


async def update_user(session: AsyncSession, user_id: int, values: dict[str, Any]) -> None:
    await session.execute(update(users).where(users.c.id == user_id).values(**values))


async def list_users(session: AsyncSession, company_id: int | None) -> list[dict[str, Any]]:
    if company_id is None:
        stmt = select(users.c.id, users.c.username, users.c.email, text("NULL AS role")).order_by(users.c.id)
    else:
        stmt = (
            select(users.c.id, users.c.username, users.c.email, memberships.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.company_id == company_id)
            .order_by(users.c.id)
        )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def get_user_in_company(session: AsyncSession, user_id: int, company_id: int | None) -> dict[str, Any] | None:
    if company_id is None:
        stmt = select(users.c.id, users.c.username, users.c.email, text("NULL AS role")).where(users.c.id == user_id)
    else:
        stmt = (
            select(users.c.id, users.c.username, users.c.email, memberships.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.company_id == company_id, users.c.id == user_id)
        )
    return _one((await session.execute(stmt)).first())


# ----------------------------------------------------------------------------- companies
async def insert_company(session: AsyncSession, name: str) -> dict[str, Any] | None:
    stmt = insert(companies).values(name=name).on_conflict_do_nothing().returning(*companies.c)
    return _one((await session.execute(stmt)).first())


async def get_company(session: AsyncSession, company_id: int) -> dict[str, Any] | None:
    return _one((await session.execute(select(companies).where(companies.c.id == company_id))).first())


async def get_company_by_name(session: AsyncSession, name: str) -> dict[str, Any] | None:
    return _one((await session.execute(select(companies).where(companies.c.name == name))).first())


async def list_companies(session: AsyncSession, user_id: int, everything: bool) -> list[dict[str, Any]]:
    join = memberships.c.company_id == companies.c.id
    join = join & (memberships.c.user_id == user_id)
    stmt = select(companies, memberships.c.role).select_from(
        companies.outerjoin(memberships, join) if everything else companies.join(memberships, join)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt.order_by(companies.c.id))).all()]


# ----------------------------------------------------------------------------- memberships
async def get_role(session: AsyncSession, user_id: int, company_id: int, *, for_update: bool = False) -> str | None:
    stmt = select(memberships.c.role).where(memberships.c.user_id == user_id, memberships.c.company_id == company_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def roles_of(session: AsyncSession, user_id: int) -> dict[int, str]:
    stmt = select(memberships.c.company_id, memberships.c.role).where(memberships.c.user_id == user_id)
    return {r.company_id: r.role for r in (await session.execute(stmt)).all()}


async def upsert_membership(session: AsyncSession, user_id: int, company_id: int, role: str) -> None:
    stmt = insert(memberships).values(user_id=user_id, company_id=company_id, role=role)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "company_id"], set_={"role": role, "updated_at": func.now()}
    )
    await session.execute(stmt)


async def delete_membership(session: AsyncSession, user_id: int, company_id: int) -> str | None:
    stmt = (
        delete(memberships)
        .where(memberships.c.user_id == user_id, memberships.c.company_id == company_id)
        .returning(memberships.c.role)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_members(session: AsyncSession, company_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(
            memberships.c.company_id, users.c.id.label("user_id"), users.c.username, users.c.email, memberships.c.role
        )
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.company_id == company_id)
        .order_by(users.c.id)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


# ----------------------------------------------------------------------------- machine clients
async def insert_client(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    stmt = insert(machine_clients).values(**values).on_conflict_do_nothing().returning(*machine_clients.c)
    return _one((await session.execute(stmt)).first())


async def get_client(session: AsyncSession, client_id: str) -> dict[str, Any] | None:
    stmt = select(machine_clients).where(machine_clients.c.client_id == client_id)
    return _one((await session.execute(stmt)).first())


async def update_client(session: AsyncSession, client_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(machine_clients).where(machine_clients.c.client_id == client_id).values(**values))


async def list_clients(session: AsyncSession, company_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(machine_clients)
        .where(machine_clients.c.company_id == company_id)
        .order_by(machine_clients.c.created_at, machine_clients.c.client_id)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def revoke_client(session: AsyncSession, company_id: int, client_id: str) -> dict[str, Any] | None:
    stmt = (
        update(machine_clients)
        .where(
            machine_clients.c.company_id == company_id,
            machine_clients.c.client_id == client_id,
            machine_clients.c.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
        .returning(*machine_clients.c)
    )
    return _one((await session.execute(stmt)).first())


# ----------------------------------------------------------------------------- tokens
async def insert_token(
    session: AsyncSession,
    *,
    jti: str,
    issued_at: datetime,
    expires_at: datetime,
    user_id: int | None = None,
    client_id: str | None = None,
    family: str | None = None,
) -> None:
    await session.execute(
        insert(tokens).values(
            jti=jti, user_id=user_id, client_id=client_id, issued_at=issued_at, expires_at=expires_at, family=family
        )
    )


async def token_family(session: AsyncSession, jti: str) -> str | None:
    return (await session.execute(select(tokens.c.family).where(tokens.c.jti == jti))).scalar_one_or_none()


async def _revoke(session: AsyncSession, where: Any) -> list[tuple[str, float]]:
    stmt = (
        update(tokens)
        .where(where, tokens.c.revoked_at.is_(None), tokens.c.expires_at > func.now())
        .values(revoked_at=func.now())
        .returning(tokens.c.jti, tokens.c.expires_at)
    )
    return [(r.jti, r.expires_at.timestamp()) for r in (await session.execute(stmt)).all()]


async def revoke_token(session: AsyncSession, jti: str) -> list[tuple[str, float]]:
    return await _revoke(session, tokens.c.jti == jti)


async def revoke_user_tokens(
    session: AsyncSession, user_id: int, *, keep_jti: str | None = None
) -> list[tuple[str, float]]:
    where = tokens.c.user_id == user_id
    if keep_jti:
        where = where & (tokens.c.jti != keep_jti)
    return await _revoke(session, where)


async def revoke_family_tokens(session: AsyncSession, family: str) -> list[tuple[str, float]]:
    return await _revoke(session, tokens.c.family == family)


# ----------------------------------------------------------------------------- refresh tokens
async def insert_refresh_token(
    session: AsyncSession, *, token_hash: str, family: str, user_id: int, expires_at: datetime
) -> None:
    await session.execute(
        insert(refresh_tokens).values(token_hash=token_hash, family=family, user_id=user_id, expires_at=expires_at)
    )


async def get_refresh_token(session: AsyncSession, token_hash: str) -> dict[str, Any] | None:
    """Locked FOR UPDATE: two concurrent uses of one refresh token are serialised (the second is a reuse)."""
    stmt = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
    return _one((await session.execute(stmt)).first())


async def rotate_refresh_token(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        update(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).values(rotated_at=func.now())
    )


async def revoke_refresh_family(session: AsyncSession, family: str) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_user_refresh_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


# ----------------------------------------------------------------------------- invitations
_INVITATION_COLUMNS = (
    invitations.c.id,
    invitations.c.company_id,
    invitations.c.invitee,
    invitations.c.role,
    invitations.c.created_at,
    invitations.c.expires_at,
)


async def insert_invitation(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    stmt = insert(invitations).values(**values).returning(*_INVITATION_COLUMNS)
    row = _one((await session.execute(stmt)).first())
    assert row is not None
    return row


async def delete_invitations_of(session: AsyncSession, company_id: int, user_id: int) -> None:
    await session.execute(
        delete(invitations).where(invitations.c.company_id == company_id, invitations.c.user_id == user_id)
    )


async def list_company_invitations(session: AsyncSession, company_id: int) -> list[dict[str, Any]]:
    """Pending (unexpired) invitations; never which account (if any) they resolved to."""
    stmt = (
        select(*_INVITATION_COLUMNS)
        .where(invitations.c.company_id == company_id, invitations.c.expires_at > func.now())
        .order_by(invitations.c.id)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def delete_invitation(session: AsyncSession, invitation_id: int, *, company_id: int) -> bool:
    stmt = (
        delete(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.company_id == company_id)
        .returning(invitations.c.id)
    )
    return (await session.execute(stmt)).first() is not None


async def list_user_invitations(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(
            invitations.c.id,
            invitations.c.company_id,
            companies.c.name.label("company_name"),
            invitations.c.role,
            invitations.c.created_at,
            invitations.c.expires_at,
        )
        .join(companies, companies.c.id == invitations.c.company_id)
        .where(invitations.c.user_id == user_id, invitations.c.expires_at > func.now())
        .order_by(invitations.c.id)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def take_invitation(session: AsyncSession, invitation_id: int, user_id: int) -> dict[str, Any] | None:
    """Delete and return the user's unexpired invitation (None: not theirs, expired or unknown)."""
    stmt = (
        delete(invitations)
        .where(
            invitations.c.id == invitation_id,
            invitations.c.user_id == user_id,
            invitations.c.expires_at > func.now(),
        )
        .returning(invitations.c.company_id, invitations.c.role)
    )
    return _one((await session.execute(stmt)).first())


async def revoke_client_tokens(session: AsyncSession, client_id: str) -> list[tuple[str, float]]:
    return await _revoke(session, tokens.c.client_id == client_id)


async def revoked_unexpired(session: AsyncSession) -> list[tuple[str, float]]:
    stmt = select(tokens.c.jti, tokens.c.expires_at).where(
        tokens.c.revoked_at.is_not(None), tokens.c.expires_at > func.now()
    )
    return [(r.jti, r.expires_at.timestamp()) for r in (await session.execute(stmt)).all()]


async def revoked_since(session: AsyncSession, since: datetime) -> list[tuple[str, float]]:
    stmt = select(tokens.c.jti, tokens.c.expires_at).where(tokens.c.revoked_at > since)
    return [(r.jti, r.expires_at.timestamp()) for r in (await session.execute(stmt)).all()]


async def changes_since(session: AsyncSession, since: datetime) -> list[tuple[int, str]]:
    stmt = select(directory_changes.c.seq, directory_changes.c.key).where(directory_changes.c.changed_at > since)
    return [(r.seq, r.key) for r in (await session.execute(stmt)).all()]


async def prune(session: AsyncSession) -> None:
    """Forget change rows older than a day and tokens expired for a week (any replica may run it)."""
    await session.execute(
        delete(directory_changes).where(directory_changes.c.changed_at < func.now() - text("interval '1 day'"))
    )
    await session.execute(delete(tokens).where(tokens.c.expires_at < func.now() - text("interval '7 days'")))
    await session.execute(
        delete(refresh_tokens).where(refresh_tokens.c.expires_at < func.now() - text("interval '7 days'"))
    )
    await session.execute(delete(invitations).where(invitations.c.expires_at < func.now() - text("interval '7 days'")))
