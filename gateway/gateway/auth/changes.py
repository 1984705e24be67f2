"""How a write tells every replica's caches: NOTIFY in the writing transaction, a change row for
the fallback poll, and an after-commit hook that updates this replica's caches at once.

Revocations are read back from ``tokens.revoked_at``; directory changes (user, company,
membership, machine client) from ``directory_changes``. Cache keys:
``u:<user_id>``, ``c:<company_id>``, ``m:<user_id>:<company_id>``, ``mu:<user_id>`` (all memberships
of a user), ``k:<client_id>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from . import events
from .models import directory_changes

if TYPE_CHECKING:
    from .authenticator import GatewayAuthenticator

CHANNEL = "gateway_auth"
_HOOKS = "gateway_after_commit"
_MAX_PAYLOAD = 7000  # PostgreSQL's NOTIFY payload limit is 8000 bytes


def user_key(user_id: int) -> str:
    return f"u:{user_id}"


def company_key(company_id: int) -> str:
    return f"c:{company_id}"


def membership_key(user_id: int, company_id: int) -> str:
    return f"m:{user_id}:{company_id}"


def user_companies_key(user_id: int) -> str:
    return f"mu:{user_id}"


def client_key(client_id: str) -> str:
    return f"k:{client_id}"


def after_commit(session: AsyncSession, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the session's transaction commits (dropped on rollback)."""
    hooks: list[Callable[[], None]] | None = session.info.get(_HOOKS)
    if hooks is None:
        hooks = session.info[_HOOKS] = []
        sync = session.sync_session

        def committed(_: object) -> None:
            for hook in session.info.pop(_HOOKS, []):
                hook()

        def rolled_back(_: object) -> None:
            session.info.pop(_HOOKS, None)

        event.listen(sync, "after_commit", committed, once=True)
        event.listen(sync, "after_soft_rollback", rolled_back, once=True)
    hooks.append(fn)


async def revoked(session: AsyncSession, auth: GatewayAuthenticator | None, rows: Sequence[tuple[str, float]]) -> None:
    """``rows`` (jti, exp epoch) were just revoked in this transaction. Every revocation goes through
    here: it also publishes ``token.revoked`` on ``gateway.token.v1`` (the services' replicas)."""
    if not rows:
        return
    await events.tokens_revoked(session, rows)
    await session.execute(text("SELECT pg_notify(:c, 'r')"), {"c": CHANNEL})
    if auth is not None:
        items = list(rows)
        after_commit(session, lambda: auth.apply_revocations(items))


async def directory_changed(session: AsyncSession, auth: GatewayAuthenticator | None, keys: Iterable[str]) -> None:
    keys = list(dict.fromkeys(keys))
    if not keys:
        return
    await session.execute(insert(directory_changes), [{"key": k} for k in keys])
    payload = "d:" + ",".join(keys)
    if len(payload.encode()) > _MAX_PAYLOAD:
        payload = "d"  # too long: the receivers' poll reads the change rows
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
    if auth is not None:
        after_commit(session, lambda: auth.invalidate(keys))
