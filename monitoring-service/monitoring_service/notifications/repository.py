"""SQL of notifications: settings rows, deliveries (record, claim, mark, list). Every query names its company."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from ..db import community_replica
from .models import notification_deliveries as deliveries
from .models import notification_settings as settings_t

CHANNEL = "monitoring_notifications"  # NOTIFY channel: a delivery was recorded


@dataclass(frozen=True)
class SettingsRow:
    community_code: str
    notify_to: list[str] | None
    time_zone: str | None
    webhook_url: str | None
    webhook_secret: str | None
    updated_at: datetime | None


def _settings_row(m: Any) -> SettingsRow:
    return SettingsRow(
        community_code=m["community_code"],
        notify_to=None if m["notify_to"] is None else list(m["notify_to"]),
        time_zone=m["time_zone"],
        webhook_url=m["webhook_url"],
        webhook_secret=m["webhook_secret"],
        updated_at=m["updated_at"],
    )


async def community_exists(session: AsyncSession, company_id: int, code: str) -> bool:
    t = community_replica.communities
    found = await session.execute(select(t.c.id).where(t.c.company_id == company_id, t.c.code == code).limit(1))
    return found.first() is not None


async def get_settings(
    session: AsyncSession, company_id: int, community: str, *, lock: bool = False
) -> SettingsRow | None:
    t = settings_t
    stmt = select(t).where(t.c.company_id == company_id, t.c.community_code == community)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return None if row is None else _settings_row(row._mapping)


async def list_settings(session: AsyncSession, company_id: int, page: Page) -> list[SettingsRow]:
    t = settings_t
    rows = await session.execute(
        select(t).where(t.c.company_id == company_id).order_by(t.c.community_code).limit(page.limit).offset(page.offset)
    )
    return [_settings_row(r._mapping) for r in rows]


async def put_settings(
    session: AsyncSession,
    company_id: int,
    community: str,
    notify_to: list[str] | None,
    time_zone: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> SettingsRow:
    values = {
        "notify_to": notify_to,
        "time_zone": time_zone,
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
        "updated_at": func.now(),
    }
    stmt = insert(settings_t).values(company_id=company_id, community_code=community, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[settings_t.c.company_id, settings_t.c.community_code], set_=values
    )
    row = (await session.execute(stmt.returning(*settings_t.c))).one()
    return _settings_row(row._mapping)


async def delete_settings(session: AsyncSession, company_id: int, community: str) -> bool:
    t = settings_t
    done = await session.execute(
        t.delete().where(t.c.company_id == company_id, t.c.community_code == community).returning(t.c.company_id)
    )
    return done.first() is not None


# ----------------------------------------------------------------------------- deliveries
async def record_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the deliveries (a second copy of an (event, channel) is ignored) and wake the dispatcher
    at commit; how many were new."""
    if not rows:
        return 0
    stmt = insert(deliveries).on_conflict_do_nothing(index_elements=[deliveries.c.event_id, deliveries.c.channel])
    done = await session.execute(stmt.returning(deliveries.c.id), list(rows))
    new = len(done.all())
    if new:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return new


async def claim_due(session: AsyncSession, limit: int, claim_seconds: float) -> list[dict[str, Any]]:
    """Take up to ``limit`` due pending deliveries (skipping rows another replica holds), the oldest
    first, and push their next attempt ``claim_seconds`` ahead: if the sender dies before marking one,
    it is due again then. Per failure and channel only the oldest pending delivery is due (a
    ``closed`` notification never overtakes its ``detected``)."""
    d = deliveries
    older = d.alias("older")
    due = (
        select(d.c.id)
        .where(
            d.c.state == "pending",
            d.c.next_attempt_at <= func.now(),
            ~exists().where(
                and_(
                    older.c.company_id == d.c.company_id,
                    older.c.failure_id == d.c.failure_id,
                    older.c.channel == d.c.channel,
                    older.c.state == "pending",
                    older.c.id < d.c.id,
                )
            ),
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(d)
        .where(d.c.id.in_(due))
        .values(
            attempts=d.c.attempts + 1, next_attempt_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, claim_seconds)
        )
        .returning(*d.c)
    )
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def mark_delivered(session: AsyncSession, delivery_id: int, attempts: int, note: str | None) -> None:
    d = deliveries
    await session.execute(
        update(d)
        .where(d.c.id == delivery_id, d.c.attempts == attempts, d.c.state == "pending")
        .values(state="delivered", delivered_at=func.now(), last_error=note)
    )


async def mark_failed(
    session: AsyncSession, delivery_id: int, attempts: int, error: str, retry_in: float | None, state: str = "dead"
) -> None:
    """Another attempt in ``retry_in`` seconds, or (None) the delivery ends in ``state``. Only the claim
    that made attempt ``attempts`` may mark it (a stale sender changes nothing)."""
    d = deliveries
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_in is None:
        values["state"] = state
    else:
        values["next_attempt_at"] = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, retry_in)
    await session.execute(
        update(d).where(d.c.id == delivery_id, d.c.attempts == attempts, d.c.state == "pending").values(**values)
    )


async def retry_delivery(
    session: AsyncSession, company_id: int, community: str, delivery_id: int
) -> dict[str, Any] | None:
    """A dead or cancelled delivery due again now with a fresh count of attempts (None if it is not one)."""
    d = deliveries
    row = (
        await session.execute(
            update(d)
            .where(
                d.c.id == delivery_id,
                d.c.company_id == company_id,
                d.c.community_code == community,
                d.c.state.in_(("dead", "cancelled")),
            )
            .values(state="pending", attempts=0, next_attempt_at=func.now())
            .returning(*d.c)
        )
    ).first()
    if row is not None:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return None if row is None else dict(row._mapping)


async def find_delivery(
    session: AsyncSession, company_id: int, community: str, delivery_id: int
) -> dict[str, Any] | None:
    d = deliveries
    row = (
        await session.execute(
            select(d).where(d.c.id == delivery_id, d.c.company_id == company_id, d.c.community_code == community)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def list_deliveries(
    session: AsyncSession, company_id: int, community: str, state: str | None, page: Page
) -> list[dict[str, Any]]:
    d = deliveries
    stmt = select(d).where(d.c.company_id == company_id, d.c.community_code == community)
    if state is not None:
        stmt = stmt.where(d.c.state == state)
    rows = await session.execute(stmt.order_by(d.c.id.desc()).limit(page.limit).offset(page.offset))
    return [dict(r._mapping) for r in rows]
