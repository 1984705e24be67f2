"""The gateway's Authenticator: bearer token -> Principal, (Principal, CompanyID) -> Identity.

Per request it costs dictionary look-ups only:

- a verified token is cached (bounded LRU) with its claims until it expires, so the Ed25519
  signature is checked once per token and process;
- revocation is a look-up in an in-memory map of revoked jtis (jti -> expiry);
- user facts (active, superuser, name), company existence, membership roles and machine clients
  are cached (bounded LRU, entries live at most ``auth_cache_max_age_seconds``).

Keeping these fresh without a query per request: writers NOTIFY ``gateway_auth`` in their
transaction (delivered at commit) and record a change row; ``run`` LISTENs and also polls every
``auth_sync_poll_seconds`` (revoked tokens by ``revoked_at``, directory changes by ``changed_at``,
both with an overlap window so that a transaction committing late is not missed). The replica
that made the change updates its own caches in an after-commit hook, before its response is sent.
Staleness across replicas: milliseconds with LISTEN, at most ~1 poll period (1 s) without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.db import listen
from gridcommons.errors import DomainError, Forbidden, Unauthorized
from gridcommons.identity import TenantIdentity
from gridcommons.timeutil import utcnow

from ..principal import Principal
from ..settings import GatewaySettings
from . import repository
from .changes import CHANNEL, client_key, company_key, membership_key, user_companies_key, user_key
from .passwords import verify_password
from .ratelimit import LoginThrottle
from .tokens import INVALID, Claims, TokenSigner

log = logging.getLogger("gateway.auth")

NOT_MEMBER = "Not a member of this company"
# Company ids are BIGINT identities; the accepted range stops at 2^53-1 so that every id survives a
# JavaScript number (Swagger UI, browsers), and the OpenAPI document states the same bound.
MAX_COMPANY_ID = 2**53 - 1
PASSWORD_CACHE_SECONDS = 60
_MISSING = object()


@dataclass(frozen=True)
class UserFacts:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_superuser: bool


@dataclass(frozen=True)
class ClientFacts:
    client_id: str
    company_id: int
    name: str
    request_budget_per_minute: int | None
    revoked: bool


class CookieSession(str):
    """Credentials (``Bearer <token>``) taken from the ``sessionid`` cookie, not from an
    ``Authorization`` header: the only way a ``session`` token is accepted."""


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[Any, tuple[Any, float]] = OrderedDict()

    def get(self, key: Any, now: float) -> Any:
        hit = self.data.get(key)
        if hit is None:
            return _MISSING
        if hit[1] <= now:
            self.data.pop(key, None)
            return _MISSING
        self.data.move_to_end(key)
        return hit[0]

    def put(self, key: Any, value: Any, until: float) -> None:
        self.data[key] = (value, until)
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def pop(self, key: Any) -> None:
        self.data.pop(key, None)


class GatewayAuthenticator:
    def __init__(
        self,
        signer: TokenSigner,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: GatewaySettings,
    ):
        self.signer = signer
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.throttle = LoginThrottle(settings)  # install() shares app.state.login_throttle with it
        self._tokens = _LRU(settings.auth_cache_size)  # token -> Claims
        self._passwords = _LRU(10_000)  # sha256(username, password) -> user id (form credentials)
        self._password_keys: dict[int, set[bytes]] = {}
        self._directory = _LRU(settings.auth_cache_size)  # change key -> facts
        self._epoch = 0  # bumped on every invalidation: a load that raced one is not stored
        self.revoked: dict[str, float] = {}  # jti -> exp (epoch s), pruned once expired
        self._wake = asyncio.Event()
        self._seen_changes: dict[int, float] = {}
        self._since_tokens: datetime | None = None
        self._since_changes: datetime | None = None
        self._last_prune = 0.0
        self.listening = False

    # ----------------------------------------------------------------- tokens -> Principal
    async def authenticate(self, authorization_header: str | None) -> Principal:
        if not authorization_header:
            raise Unauthorized("Not authenticated", headers={"WWW-Authenticate": "Bearer"})
        scheme, _, token = authorization_header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "Invalid authorization header: expected 'Bearer <token>'", headers={"WWW-Authenticate": INVALID}
            )
        return await self.authenticate_token(token, from_cookie=isinstance(authorization_header, CookieSession))

    async def authenticate_token(self, token: str, *, from_cookie: bool = False) -> Principal:
        now = time.time()
        claims: Claims | Any = self._tokens.get(token, now)
        if claims is _MISSING:
            claims = self.signer.verify(token)
            self._tokens.put(token, claims, claims.exp)
        if claims.jti in self.revoked:
            raise Unauthorized("Token has been revoked", headers={"WWW-Authenticate": INVALID})
        if claims.typ == "session" and not from_cookie:
            raise Unauthorized(
                "A /api/core/login session is valid only as the sessionid cookie; get a bearer token from /auth/token",
                headers={"WWW-Authenticate": INVALID},
            )
        if claims.typ in ("user", "session"):
            user = await self.user(int(claims.sub))
            if user is None or not user.is_active:
                raise Unauthorized("User is inactive or deleted", headers={"WWW-Authenticate": INVALID})
            return Principal(
                kind="user",
                subject=claims.sub,
                username=user.username,
                superuser=user.is_superuser,
                jti=claims.jti,
                expires_at=claims.expires_at,
            )
        client = await self.client(claims.sub)
        if client is None or client.revoked:
            raise Unauthorized("Machine client is revoked", headers={"WWW-Authenticate": INVALID})
        return Principal(
            kind="client",
            subject=client.client_id,
            username=None,
            superuser=False,
            jti=claims.jti,
            expires_at=claims.expires_at,
            company_id=client.company_id,
            request_budget_per_minute=client.request_budget_per_minute,
        )

    async def authenticate_password(self, username: str, password: str, address: str = "unknown") -> Principal:
        """Form credentials instead of a token (seed 004 ``/api/misc/scenario/*``: ``username`` or
        ``account`` + ``password``). Throttled like a login (429); 401 "login failed" otherwise.

        Devices repeat these calls every few seconds, so a successful check is remembered for
        ``PASSWORD_CACHE_SECONDS`` (keyed by a SHA-256 of the pair, dropped when the user changes)
        instead of paying Argon2 on every request. The Principal has ``jti == ""`` (no token).
        It does not revoke the user's tokens (it is not a login)."""
        now = time.monotonic()
        key = hashlib.sha256(f"{username}\x00{password}".encode()).digest()
        user_id = self._passwords.get(key, now)
        if user_id is _MISSING:
            self.throttle.check(username, address)  # the same counters as every login door
            epoch = self._epoch
            async with self.sessionmaker() as session:
                row = await repository.get_user_by_username(session, username) if 0 < len(username) <= 150 else None
                ok, _ = await verify_password(password, row["password_hash"] if row else None)
            if not ok or row is None or not row["is_active"]:
                self.throttle.failed(username, address)
                raise Unauthorized("login failed")
            self.throttle.succeeded(username, address)
            user_id = row["id"]
            if epoch == self._epoch:
                self._passwords.put(key, user_id, now + PASSWORD_CACHE_SECONDS)
                self._password_keys.setdefault(user_id, set()).add(key)
        user = await self.user(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("login failed")
        return Principal(
            kind="user",
            subject=str(user.id),
            username=user.username,
            superuser=user.is_superuser,
            jti="",
            expires_at=utcnow() + timedelta(seconds=PASSWORD_CACHE_SECONDS),
        )

    async def companies_of(self, principal: Principal) -> dict[int, str]:
        """A user's memberships {company_id: role} (for requests that name no CompanyID, e.g. the
        seed 004 device endpoints: take the company when there is exactly one)."""
        if principal.kind == "client":
            assert principal.company_id is not None
            return {principal.company_id: "device"}
        user_id = int(principal.subject)

        async def load(session: AsyncSession) -> dict[int, str]:
            return await repository.roles_of(session, user_id)

        return dict(await self._cached(user_companies_key(user_id), load))

    # ----------------------------------------------------------------- CompanyID -> Identity
    async def identity_for(self, principal: Principal, company_header: str | None) -> TenantIdentity:
        company_id = parse_company_header(company_header)
        if principal.kind == "client":
            if principal.company_id != company_id:
                raise Forbidden(NOT_MEMBER)
            return TenantIdentity(
                subject=principal.subject, kind="client", company_id=company_id, roles=frozenset({"device"})
            )
        user_id = int(principal.subject)
        if principal.superuser:
            if not await self.company_exists(company_id):
                raise Forbidden(NOT_MEMBER)
            role = "admin"
        else:
            found = await self.role(user_id, company_id)
            if found is None:
                raise Forbidden(NOT_MEMBER)
            role = found
        return TenantIdentity(
            subject=principal.subject,
            kind="user",
            company_id=company_id,
            roles=frozenset({role}),
            username=principal.username,
            superuser=principal.superuser,
        )

    # ----------------------------------------------------------------- cached directory facts
    async def _cached(self, key: str, load: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        value = self._directory.get(key, now)
        if value is not _MISSING:
            return value
        epoch = self._epoch
        async with self.sessionmaker() as session:
            value = await load(session)
        if epoch == self._epoch:
            self._directory.put(key, value, time.monotonic() + self.settings.auth_cache_max_age_seconds)
        return value

    async def user(self, user_id: int) -> UserFacts | None:
        async def load(session: AsyncSession) -> UserFacts | None:
            row = await repository.get_user(session, user_id)
            return None if row is None else _user_facts(row)

        return await self._cached(user_key(user_id), load)

    async def client(self, client_id: str) -> ClientFacts | None:
        async def load(session: AsyncSession) -> ClientFacts | None:
            row = await repository.get_client(session, client_id)
            if row is None:
                return None
            return ClientFacts(
                client_id=row["client_id"],
                company_id=row["company_id"],
                name=row["name"],
                request_budget_per_minute=row["request_budget_per_minute"],
                revoked=row["revoked_at"] is not None,
            )

        return await self._cached(client_key(client_id), load)

    async def role(self, user_id: int, company_id: int) -> str | None:
        async def load(session: AsyncSession) -> str | None:
            return await repository.get_role(session, user_id, company_id)

        return await self._cached(membership_key(user_id, company_id), load)

    async def company_exists(self, company_id: int) -> bool:
        async def load(session: AsyncSession) -> bool:
            return await repository.get_company(session, company_id) is not None

        return bool(await self._cached(company_key(company_id), load))

    # ----------------------------------------------------------------- invalidation
    def apply_revocations(self, rows: Iterable[tuple[str, float]]) -> None:
        now = time.time()
        for jti, exp in rows:
            if exp > now:
                self.revoked[jti] = exp

    def invalidate(self, keys: Iterable[str]) -> None:
        self._epoch += 1
        for key in keys:
            self._directory.pop(key)
            if key.startswith("u:"):
                for pw_key in self._password_keys.pop(int(key[2:]), ()):
                    self._passwords.pop(pw_key)

    def invalidate_all(self) -> None:
        self._epoch += 1
        self._directory.data.clear()
        self._passwords.data.clear()
        self._password_keys.clear()

    # ----------------------------------------------------------------- background sync
    async def load_revocations(self) -> None:
        """Start-up: every revoked, unexpired token; then the poll carries on from the DB clock."""
        async with self.sessionmaker() as session:
            db_now = (await session.execute(text("SELECT now()"))).scalar_one()
            rows = await repository.revoked_unexpired(session)
        self.apply_revocations(rows)
        self._since_tokens = db_now - timedelta(seconds=self.settings.auth_sync_overlap_seconds)
        self._since_changes = db_now - timedelta(seconds=self.settings.auth_sync_overlap_seconds)

    async def poll(self) -> None:
        overlap = timedelta(seconds=self.settings.auth_sync_overlap_seconds)
        assert self._since_tokens is not None and self._since_changes is not None
        async with self.sessionmaker() as session:
            db_now = (await session.execute(text("SELECT now()"))).scalar_one()
            revoked = await repository.revoked_since(session, self._since_tokens)
            changes = await repository.changes_since(session, self._since_changes)
            mono = time.monotonic()
            prune = mono - self._last_prune > 600
            if prune:
                self._last_prune = mono
                await repository.prune(session)
                await session.commit()
        self.apply_revocations(revoked)
        fresh = [(seq, key) for seq, key in changes if seq not in self._seen_changes]
        if fresh:
            now = time.monotonic()
            for seq, _ in fresh:
                self._seen_changes[seq] = now
            self.invalidate(key for _, key in fresh)
        self._since_tokens = self._since_changes = db_now - overlap
        if prune or len(self._seen_changes) > 10_000:
            horizon = time.monotonic() - 3 * self.settings.auth_sync_overlap_seconds
            self._seen_changes = {s: t for s, t in self._seen_changes.items() if t > horizon}
            now = time.time()
            self.revoked = {j: e for j, e in self.revoked.items() if e > now}

    async def run(self, stop: asyncio.Event) -> None:
        """LISTEN + poll until ``stop``; errors are logged and retried."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                try:
                    await self.poll()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("auth cache poll failed (%s: %s)", exc.__class__.__name__, exc)
                self._wake.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                _, pending = await asyncio.wait(
                    waits, timeout=self.settings.auth_sync_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
        finally:
            listener.cancel()
            try:
                await listener
            except (asyncio.CancelledError, Exception):
                pass

    def _on_notify(self, payload: str) -> None:
        if payload.startswith("d:"):
            self.invalidate(payload[2:].split(","))
        self._wake.set()

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN (``gridcommons.db.listen``); each (re)connection wakes a poll to catch up."""

        def connected() -> None:
            self.listening = True
            self._wake.set()

        def lost() -> None:
            self.listening = False

        await listen(
            self.settings.infra.database_url,
            CHANNEL,
            self._on_notify,
            stop,
            name="gateway-auth-listen",
            on_connected=connected,
            on_lost=lost,
        )


def parse_company_header(value: str | None) -> int:
    if value is None or not value.strip():
        raise DomainError("CompanyID header is required", status_code=400)
    value = value.strip()
    if (
        len(value) > len(str(MAX_COMPANY_ID))
        or not (value.isascii() and value.isdigit())
        or int(value) <= 0
        or int(value) > MAX_COMPANY_ID
    ):
        raise DomainError("CompanyID must be a positive integer", status_code=400)
    return int(value)


def _user_facts(row: dict[str, Any]) -> UserFacts:
    return UserFacts(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        is_active=row["is_active"],
        is_superuser=row["is_superuser"],
    )
