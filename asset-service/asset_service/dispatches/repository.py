"""SQL of dispatch history. Every statement is scoped by company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from .models import dispatches as t
from .schemas import DispatchQuery


async def insert_dispatch(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """The new row, or None if this company already has that event id (a redelivery)."""
    stmt = (
        insert(t).values(**values).on_conflict_do_nothing(index_elements=[t.c.company_id, t.c.event_id]).returning(*t.c)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def list_dispatches(
    session: AsyncSession,
    company_id: int,
    query: DispatchQuery,
    page: Page,
) -> list[dict[str, Any]]:
    start, end, delivery_day = query.start, query.end, query.delivery_day
    stmt = select(t).where(t.c.company_id == company_id, t.c.asset_id.in_(query.asset_ids))
    if start is not None:
        stmt = stmt.where(t.c.dispatch_time >= start)
    if end is not None:
        stmt = stmt.where(t.c.dispatch_time < end)
    if delivery_day is not None:
        stmt = stmt.where(t.c.delivery_day == delivery_day)
    stmt = stmt.order_by(t.c.dispatch_time, t.c.asset_id, t.c.delivery_period_start, t.c.event_id)
    stmt = stmt.limit(page.limit).offset(page.offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
