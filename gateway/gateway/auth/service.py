"""Rules of the gateway's identity domain: accounts, logins and tokens, companies, memberships,
machine clients. Every membership/role change (and machine client create/revoke) publishes
``gateway.membership.v1`` through the outbox and invalidates the auth caches of every replica."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, DomainError, Forbidden, NotFound
from gridcommons.identity import Identity

from ..principal import Principal
from . import changes, events, repository
from .authenticator import GatewayAuthenticator
from .passwords import hash_client_secret, hash_password, new_client_secret, verify_client_secret, verify_password
from .ratelimit import LoginThrottle
from .schemas import MachineClientCreate, RegisterRequest
from .tokens import IssuedToken

USERNAME_TAKEN = "A user with that username already exists."
NO_COMPANY = "Company not found"


class BadCredentials(Exception):
    """Unknown user, inactive user or wrong password (deliberately not told apart)."""


@dataclass(frozen=True)
class Login:
    user: dict[str, Any]
    token: IssuedToken


def user_id_of(principal: Principal) -> int:
    if principal.kind != "user":
        raise Forbidden("This operation needs a user token, not a machine client token")
    return int(principal.subject)


# ----------------------------------------------------------------------------- accounts and tokens
async def _issue_user_token(
    session: AsyncSession, auth: GatewayAuthenticator, user_id: int, ttl: int, *, supersede: bool
) -> IssuedToken:
    if supersede:  # seed 001: "every time user is logging, new token is generated and old one is no longer valid"
        await changes.revoked(session, auth, await repository.revoke_user_tokens(session, user_id))
    issued = auth.signer.issue(str(user_id), "user", ttl)
    await repository.insert_token(
        session, jti=issued.jti, user_id=user_id, issued_at=issued.issued_at, expires_at=issued.expires_at
    )
    return issued


async def register(session: AsyncSession, auth: GatewayAuthenticator, body: RegisterRequest) -> Login:
    if not auth.settings.allow_registration:
        raise Forbidden("Registration is disabled; ask a company admin for an account")
    row = await repository.insert_user(
        session,
        {"username": body.username, "email": body.email, "password_hash": await hash_password(body.password)},
    )
    if row is None:
        raise Conflict(USERNAME_TAKEN)
    await changes.directory_changed(session, auth, [changes.user_key(row["id"])])  # drop a cached "no such user"
    token = await _issue_user_token(session, auth, row["id"], auth.settings.access_token_ttl_seconds, supersede=False)
    return Login(user=row, token=token)


async def check_password(session: AsyncSession, username: str, password: str) -> dict[str, Any]:
    """The active user with these credentials, or BadCredentials. Costs one Argon2 verification
    whether or not the user exists."""
    row = await repository.get_user_by_username(session, username) if 0 < len(username) <= 150 else None
    stored = row["password_hash"] if row is not None else None
    ok, new_hash = await verify_password(password, stored)
    if not ok or row is None or not row["is_active"]:
        raise BadCredentials()
    if new_hash:
        await repository.update_user(session, row["id"], {"password_hash": new_hash})
    return row


async def password_login(
    session: AsyncSession,
    auth: GatewayAuthenticator,
    throttle: LoginThrottle,
    username: str,
    password: str,
    address: str,
    *,
    ttl: int | None = None,
) -> Login:
    """A login by username and password (all of /auth/login, /auth/token, /api/core/login):
    throttled, and it supersedes the user's previous tokens."""
    throttle.check(username, address)
    try:
        row = await check_password(session, username, password)
    except BadCredentials:
        throttle.failed(username, address)
        raise
    throttle.succeeded(username)
    ttl = ttl or auth.settings.access_token_ttl_seconds
    return Login(user=row, token=await _issue_user_token(session, auth, row["id"], ttl, supersede=True))


async def client_login(
    session: AsyncSession,
    auth: GatewayAuthenticator,
    throttle: LoginThrottle,
    client_id: str,
    client_secret: str,
    address: str,
) -> IssuedToken:
    """client_credentials grant; previous tokens of the client stay valid until they expire."""
    throttle.check(f"client:{client_id}", address)
    row = await repository.get_client(session, client_id) if 0 < len(client_id) <= 64 else None
    valid = verify_client_secret(client_secret, row["secret_hash"] if row else None)
    if row is None or not valid or row["revoked_at"] is not None:
        throttle.failed(f"client:{client_id}", address)
        raise BadCredentials()
    # The company and role as claims: the Kafka ingestion doors have no gateway in front of them.
    claims = {"company_id": row["company_id"], "roles": ["device"]}
    issued = auth.signer.issue(row["client_id"], "client", auth.settings.access_token_ttl_seconds, claims)
    await repository.insert_token(
        session, jti=issued.jti, client_id=row["client_id"], issued_at=issued.issued_at, expires_at=issued.expires_at
    )
    return issued


async def logout(session: AsyncSession, auth: GatewayAuthenticator, principal: Principal) -> None:
    await changes.revoked(session, auth, await repository.revoke_token(session, principal.jti))


async def get_user(session: AsyncSession, user_id: int) -> dict[str, Any]:
    row = await repository.get_user(session, user_id)
    if row is None:
        raise NotFound("User not found")
    return row


# ----------------------------------------------------------------------------- admin: users (seed 001)
async def admin_list_users(session: AsyncSession, identity: Identity | None) -> list[dict[str, Any]]:
    """``identity`` None: a superuser's platform-wide listing."""
    return await repository.list_users(session, None if identity is None else identity.company_id)


async def admin_get_user(session: AsyncSession, identity: Identity | None, user_id: int) -> dict[str, Any]:
    row = await repository.get_user_in_company(session, user_id, None if identity is None else identity.company_id)
    if row is None:
        raise NotFound("User not found")
    return row


def require_admin(identity: Identity) -> Identity:
    if "admin" not in identity.roles:
        raise Forbidden("Company admin role required")
    return identity


# ----------------------------------------------------------------------------- companies and memberships
async def create_company(
    session: AsyncSession, auth: GatewayAuthenticator | None, principal: Principal, name: str
) -> dict[str, Any]:
    if principal.kind != "user" or not principal.superuser:
        raise Forbidden("Only a platform superuser may create companies")
    row = await repository.insert_company(session, name)
    if row is None:
        raise Conflict("A company with that name already exists")
    await changes.directory_changed(session, auth, [changes.company_key(row["id"])])
    return row


async def list_companies(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    return await repository.list_companies(session, user_id_of(principal), everything=principal.superuser)


async def _require_company_admin(session: AsyncSession, principal: Principal, company_id: int) -> None:
    """Superuser, or admin of ``company_id``. A company the caller cannot see is reported as 404."""
    user_id = user_id_of(principal)
    if principal.superuser:
        if await repository.get_company(session, company_id) is None:
            raise NotFound(NO_COMPANY)
        return
    role = await repository.get_role(session, user_id, company_id)
    if role is None:
        raise NotFound(NO_COMPANY)
    if role != "admin":
        raise Forbidden("Company admin role required")


async def _apply_role(
    session: AsyncSession, auth: GatewayAuthenticator | None, user: dict[str, Any], company_id: int, role: str | None
) -> bool:
    """Set (or with None remove) a membership; publishes the event and invalidates caches if it changed."""
    current = await repository.get_role(session, user["id"], company_id, for_update=True)
    if current == role:
        return False
    if role is None:
        await repository.delete_membership(session, user["id"], company_id)
    else:
        await repository.upsert_membership(session, user["id"], company_id, role)
    await changes.directory_changed(
        session, auth, [changes.membership_key(user["id"], company_id), changes.user_companies_key(user["id"])]
    )
    await events.membership_changed(
        session, company_id=company_id, kind="user", user_id=user["id"], username=user["username"], role=role
    )
    return True


async def set_membership(
    session: AsyncSession, auth: GatewayAuthenticator, principal: Principal, company_id: int, user_id: int, role: str
) -> dict[str, Any]:
    await _require_company_admin(session, principal, company_id)
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound("User not found")
    await _apply_role(session, auth, user, company_id, role)
    return {
        "company_id": company_id,
        "user_id": user_id,
        "username": user["username"],
        "email": user["email"],
        "role": role,
    }


async def remove_membership(
    session: AsyncSession, auth: GatewayAuthenticator, principal: Principal, company_id: int, user_id: int
) -> None:
    await _require_company_admin(session, principal, company_id)
    user = await repository.get_user(session, user_id)
    if user is None or not await _apply_role(session, auth, user, company_id, None):
        raise NotFound("Membership not found")


async def list_members(session: AsyncSession, principal: Principal, company_id: int) -> list[dict[str, Any]]:
    await _require_company_admin(session, principal, company_id)
    return await repository.list_members(session, company_id)


# ----------------------------------------------------------------------------- machine clients
async def create_client(
    session: AsyncSession,
    auth: GatewayAuthenticator | None,
    company_id: int,
    body: MachineClientCreate,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> dict[str, Any]:
    secret = client_secret or new_client_secret()
    row = await repository.insert_client(
        session,
        {
            "client_id": client_id or f"mc_{secrets.token_urlsafe(12)}",
            "secret_hash": hash_client_secret(secret),
            "company_id": company_id,
            "name": body.name,
            "request_budget_per_minute": body.request_budget_per_minute,
        },
    )
    if row is None:
        raise Conflict("A machine client with that id already exists")
    await changes.directory_changed(session, auth, [changes.client_key(row["client_id"])])
    await events.membership_changed(
        session, company_id=company_id, kind="client", client_id=row["client_id"], role="device"
    )
    return row | {"client_secret": secret}


async def list_clients(session: AsyncSession, identity: Identity) -> list[dict[str, Any]]:
    assert identity.company_id is not None
    return await repository.list_clients(session, identity.company_id)


async def revoke_client(session: AsyncSession, auth: GatewayAuthenticator, identity: Identity, client_id: str) -> None:
    assert identity.company_id is not None
    row = await repository.revoke_client(session, identity.company_id, client_id)
    if row is None:
        raise NotFound("Machine client not found")
    await changes.revoked(session, auth, await repository.revoke_client_tokens(session, client_id))
    await changes.directory_changed(session, auth, [changes.client_key(client_id)])
    await events.membership_changed(
        session, company_id=identity.company_id, kind="client", client_id=client_id, role=None
    )


# ----------------------------------------------------------------------------- idempotent set-up (bootstrap, demo)
async def ensure_user(
    session: AsyncSession,
    auth: GatewayAuthenticator | None,
    username: str,
    password: str,
    *,
    email: str = "",
    superuser: bool = False,
    first_name: str = "",
    last_name: str = "",
) -> dict[str, Any]:
    """Create the user, or bring an existing one to this password/superuser flag (active)."""
    row = await repository.get_user_by_username(session, username)
    created = row is None
    if row is None:
        row = await repository.insert_user(
            session,
            {
                "username": username,
                "email": email,
                "password_hash": await hash_password(password),
                "is_superuser": superuser,
                "first_name": first_name,
                "last_name": last_name,
            },
        )
        if row is None:  # created concurrently (another replica starting)
            row = await repository.get_user_by_username(session, username)
            if row is None:
                raise DomainError(f"username {username!r} clashes with an existing user", status_code=409)
    updates: dict[str, Any] = {}
    ok, _ = await verify_password(password, row["password_hash"])
    if not ok:
        updates["password_hash"] = await hash_password(password)
    if superuser and not row["is_superuser"]:
        updates["is_superuser"] = True
    if not row["is_active"]:
        updates["is_active"] = True
    if updates:
        await repository.update_user(session, row["id"], updates)
        row = row | updates
    if created or updates:
        await changes.directory_changed(session, auth, [changes.user_key(row["id"])])
    return row


async def ensure_company(session: AsyncSession, auth: GatewayAuthenticator | None, name: str) -> dict[str, Any]:
    row = await repository.get_company_by_name(session, name)
    if row is None:
        row = await repository.insert_company(session, name) or await repository.get_company_by_name(session, name)
        assert row is not None
        await changes.directory_changed(session, auth, [changes.company_key(row["id"])])
    return row


async def ensure_membership(
    session: AsyncSession, auth: GatewayAuthenticator | None, user: dict[str, Any], company_id: int, role: str
) -> None:
    await _apply_role(session, auth, user, company_id, role)


async def ensure_client(
    session: AsyncSession, auth: GatewayAuthenticator | None, company_id: int, client_id: str, secret: str, name: str
) -> dict[str, Any]:
    row = await repository.get_client(session, client_id)
    if row is None:
        return await create_client(
            session,
            auth,
            company_id,
            MachineClientCreate(name=name, request_budget_per_minute=None),
            client_id=client_id,
            client_secret=secret,
        )
    if row["company_id"] != company_id:
        raise DomainError(f"machine client {client_id!r} belongs to another company", status_code=409)
    if row["revoked_at"] is not None or not verify_client_secret(secret, row["secret_hash"]):
        await repository.update_client(
            session, client_id, {"revoked_at": None, "secret_hash": hash_client_secret(secret)}
        )
        await changes.directory_changed(session, auth, [changes.client_key(client_id)])
        if row["revoked_at"] is not None:
            await events.membership_changed(
                session, company_id=company_id, kind="client", client_id=client_id, role="device"
            )
    return row | {"client_secret": secret, "revoked_at": None}
