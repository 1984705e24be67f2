"""Rules of the gateway's identity domain: accounts, logins and tokens, companies, memberships,
machine clients. Every membership/role change (and machine client create/revoke) publishes
``gateway.membership.v1`` through the outbox and invalidates the auth caches of every replica."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, DomainError, Forbidden, NotFound
from gridcommons.identity import Identity, TenantIdentity
from gridcommons.timeutil import utcnow

from ..principal import Principal
from . import changes, events, repository
from .authenticator import GatewayAuthenticator
from .passwords import hash_client_secret, hash_password, new_client_secret, verify_client_secret, verify_password
from .ratelimit import LoginThrottle, RegistrationThrottle
from .schemas import InvitationCreate, MachineClientCreate, RegisterRequest
from .tokens import IssuedToken

USERNAME_TAKEN = "A user with that username already exists."
NO_COMPANY = "Company not found"
NO_MEMBERSHIP = "Membership not found"
NO_INVITATION = "Invitation not found"


class BadCredentials(Exception):
    """Unknown user, inactive user or wrong password (deliberately not told apart)."""


class RefreshReused(BadCredentials):
    """A refresh token that was already rotated came back: its family has been revoked."""


@dataclass(frozen=True)
class Login:
    user: dict[str, Any]
    token: IssuedToken
    refresh_token: str | None = None


def user_id_of(principal: Principal) -> int:
    if principal.kind != "user":
        raise Forbidden("This operation needs a user token, not a machine client token")
    return int(principal.subject)


# ----------------------------------------------------------------------------- accounts and tokens
async def revoke_user_sessions(
    session: AsyncSession, auth: GatewayAuthenticator, user_id: int, *, keep_jti: str | None = None
) -> None:
    """Every access token of the user (but ``keep_jti``) and every refresh family."""
    await changes.revoked(session, auth, await repository.revoke_user_tokens(session, user_id, keep_jti=keep_jti))
    await repository.revoke_user_refresh_tokens(session, user_id)


async def revoke_family(session: AsyncSession, auth: GatewayAuthenticator, family: str) -> None:
    """A refresh family and every access token issued in it."""
    await repository.revoke_refresh_family(session, family)
    await changes.revoked(session, auth, await repository.revoke_family_tokens(session, family))


async def _issue_user_token(
    session: AsyncSession,
    auth: GatewayAuthenticator,
    user_id: int,
    ttl: int,
    *,
    supersede: bool,
    typ: str = "user",
    family: str | None = None,
) -> IssuedToken:
    if supersede:  # seed 001: "every time user is logging, new token is generated and old one is no longer valid"
        await revoke_user_sessions(session, auth, user_id)
    issued = auth.signer.issue(str(user_id), typ, ttl)
    await repository.insert_token(
        session,
        jti=issued.jti,
        user_id=user_id,
        issued_at=issued.issued_at,
        expires_at=issued.expires_at,
        family=family,
    )
    return issued


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _new_refresh_token(session: AsyncSession, auth: GatewayAuthenticator, user_id: int, family: str) -> str:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=auth.settings.refresh_token_ttl_seconds)
    await repository.insert_refresh_token(
        session, token_hash=_digest(token), family=family, user_id=user_id, expires_at=expires_at
    )
    return token


async def register(
    session: AsyncSession,
    auth: GatewayAuthenticator,
    throttle: RegistrationThrottle,
    body: RegisterRequest,
    address: str,
) -> Login:
    if not auth.settings.allow_registration:
        raise Forbidden("Registration is disabled; ask a company admin for an account")
    throttle.take(address)  # 429 beyond registrations_per_address: each call costs an Argon2 hash
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
    supersede: bool = False,
    refresh: bool = False,
    session_token: bool = False,
) -> Login:
    """A login by username and password (/auth/login, /auth/token, /api/core/login), throttled.

    ``supersede`` (/auth/login only, seed 001): revoke the user's previous tokens and refresh
    families. ``refresh`` (/auth/token): also start a refresh token family. ``session_token``
    (/api/core/login): a 14-day ``session`` token, valid only as the ``sessionid`` cookie."""
    throttle.check(username, address)
    try:
        row = await check_password(session, username, password)
    except BadCredentials:
        throttle.failed(username, address)
        raise
    throttle.succeeded(username, address)
    if session_token:
        ttl, typ = auth.settings.session_token_ttl_seconds, "session"
    else:
        ttl, typ = auth.settings.access_token_ttl_seconds, "user"
    family = secrets.token_urlsafe(18) if refresh else None
    token = await _issue_user_token(session, auth, row["id"], ttl, supersede=supersede, typ=typ, family=family)
    refresh_token = await _new_refresh_token(session, auth, row["id"], family) if family else None
    return Login(user=row, token=token, refresh_token=refresh_token)


async def refresh_login(session: AsyncSession, auth: GatewayAuthenticator, refresh_token: str) -> Login:
    """The ``refresh_token`` grant (RFC 6749 §6): rotate the refresh token and issue an access
    token in the same family. A refresh token used twice means a copy exists: the whole family
    (its refresh tokens and the access tokens issued in it) is revoked (RefreshReused)."""
    row = await repository.get_refresh_token(session, _digest(refresh_token)) if len(refresh_token) <= 256 else None
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= utcnow():
        raise BadCredentials()
    if row["rotated_at"] is not None:
        await revoke_family(session, auth, row["family"])
        raise RefreshReused()
    user = await repository.get_user(session, row["user_id"])
    if user is None or not user["is_active"]:
        raise BadCredentials()
    await repository.rotate_refresh_token(session, row["token_hash"])
    token = await _issue_user_token(
        session, auth, user["id"], auth.settings.access_token_ttl_seconds, supersede=False, family=row["family"]
    )
    return Login(
        user=user, token=token, refresh_token=await _new_refresh_token(session, auth, user["id"], row["family"])
    )


async def change_password(
    session: AsyncSession,
    auth: GatewayAuthenticator,
    throttle: LoginThrottle,
    principal: Principal,
    current: str,
    new: str,
    address: str,
) -> None:
    """Check the current password (throttled like a login), store the new one, and revoke every
    other access token and every refresh family of the user (the presented token stays valid)."""
    user = await get_user(session, user_id_of(principal))
    throttle.check(user["username"], address)
    try:
        await check_password(session, user["username"], current)
    except BadCredentials:
        throttle.failed(user["username"], address)
        raise
    throttle.succeeded(user["username"], address)
    await repository.update_user(session, user["id"], {"password_hash": await hash_password(new)})
    await revoke_user_sessions(session, auth, user["id"], keep_jti=principal.jti or None)
    await changes.directory_changed(session, auth, [changes.user_key(user["id"])])  # drops cached form credentials


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
    throttle.succeeded(f"client:{client_id}", address)
    # The company and role as claims: the Kafka ingestion doors have no gateway in front of them.
    claims = {"company_id": row["company_id"], "roles": ["device"]}
    issued = auth.signer.issue(row["client_id"], "client", auth.settings.access_token_ttl_seconds, claims)
    await repository.insert_token(
        session, jti=issued.jti, client_id=row["client_id"], issued_at=issued.issued_at, expires_at=issued.expires_at
    )
    return issued


async def logout(session: AsyncSession, auth: GatewayAuthenticator, principal: Principal) -> None:
    """Revoke the presented token, and the refresh family it was issued in (if any)."""
    family = await repository.token_family(session, principal.jti) if principal.jti else None
    if family is not None:
        await revoke_family(session, auth, family)
    else:
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
    """A superuser adds any user directly or changes a role; a company admin only changes the role
    of an existing member (others join by invitation). Not a member (or no such user) is the same
    404 for an admin, so nothing is learnt about users outside the company."""
    await _require_company_admin(session, principal, company_id)
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(NO_MEMBERSHIP if not principal.superuser else "User not found")
    if not principal.superuser and await repository.get_role(session, user_id, company_id) is None:
        raise NotFound(NO_MEMBERSHIP)
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
        raise NotFound(NO_MEMBERSHIP)


async def list_members(session: AsyncSession, principal: Principal, company_id: int) -> list[dict[str, Any]]:
    await _require_company_admin(session, principal, company_id)
    return await repository.list_members(session, company_id)


# ----------------------------------------------------------------------------- invitations
async def invite(
    session: AsyncSession, auth: GatewayAuthenticator, principal: Principal, company_id: int, body: InvitationCreate
) -> dict[str, Any]:
    """An admin (or superuser) invites a username or an e-mail. The answer is the same whether the
    invitee exists, is already a member or matches nobody: the invitation is then stored without an
    account and never delivered. An e-mail is delivered only when exactly one active account has it
    (case-insensitively). A newer invitation of the same account into the company replaces an older one."""
    await _require_company_admin(session, principal, company_id)
    invitee = body.username if body.username is not None else body.email
    assert invitee is not None
    if body.username is not None:
        user = await repository.get_active_user_by_username(session, body.username)
    else:
        user = await repository.get_only_active_user_by_email(session, invitee)
    user_id = user["id"] if user is not None else None
    if user_id is not None and await repository.get_role(session, user_id, company_id) is not None:
        user_id = None  # already a member: role changes go through PUT .../members/{uid}
    if user_id is not None:
        await repository.delete_invitations_of(session, company_id, user_id)
    expires_at = utcnow() + timedelta(seconds=auth.settings.invitation_ttl_seconds)
    return await repository.insert_invitation(
        session,
        {
            "company_id": company_id,
            "invitee": invitee,
            "user_id": user_id,
            "role": body.role,
            "invited_by": user_id_of(principal),
            "expires_at": expires_at,
        },
    )


async def list_company_invitations(
    session: AsyncSession, principal: Principal, company_id: int
) -> list[dict[str, Any]]:
    await _require_company_admin(session, principal, company_id)
    return await repository.list_company_invitations(session, company_id)


async def cancel_invitation(session: AsyncSession, principal: Principal, company_id: int, invitation_id: int) -> None:
    await _require_company_admin(session, principal, company_id)
    if not await repository.delete_invitation(session, invitation_id, company_id=company_id):
        raise NotFound(NO_INVITATION)


async def my_invitations(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    return await repository.list_user_invitations(session, user_id_of(principal))


async def answer_invitation(
    session: AsyncSession, auth: GatewayAuthenticator, principal: Principal, invitation_id: int, *, accept: bool
) -> dict[str, Any] | None:
    """The invitee accepts (membership with the invited role, ``gateway.membership.v1`` event)
    or declines; either way the invitation is used up. Someone else's, expired or unknown: 404."""
    user_id = user_id_of(principal)
    row = await repository.take_invitation(session, invitation_id, user_id)
    if row is None:
        raise NotFound(NO_INVITATION)
    if not accept:
        return None
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(NO_INVITATION)
    await _apply_role(session, auth, user, row["company_id"], row["role"])
    company = await repository.get_company(session, row["company_id"])
    assert company is not None
    return company | {"role": row["role"]}


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


async def list_clients(session: AsyncSession, identity: TenantIdentity) -> list[dict[str, Any]]:
    return await repository.list_clients(session, identity.company_id)


async def revoke_client(
    session: AsyncSession, auth: GatewayAuthenticator, identity: TenantIdentity, client_id: str
) -> None:
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
