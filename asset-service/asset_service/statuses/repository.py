"""SQL of asset statuses. Every statement is scoped by company."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.pagination import Page

from .models import asset_statuses as t
from .schemas import StatusQuery


async def upsert_statuses(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One multi-row INSERT ... ON CONFLICT: a new (asset, effective_at) is inserted, an existing one
    takes the new status and reasons (created_at kept). Returns only rows inserted or actually changed,
    so a redelivered batch returns nothing."""
    ins = insert(t).values(list(rows))
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.company_id, t.c.asset_id, t.c.effective_at],
        set_={"status": ins.excluded.status, "reasons": ins.excluded.reasons, "updated_at": func.now()},
        where=or_(t.c.status.is_distinct_from(ins.excluded.status), t.c.reasons.is_distinct_from(ins.excluded.reasons)),
    ).returning(*t.c)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def latest_status(session: AsyncSession, company_id: int, asset_id: str) -> dict[str, Any] | None:
    stmt = (
        select(t)
        .where(t.c.company_id == company_id, t.c.asset_id == asset_id)
        .order_by(t.c.effective_at.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


def _scoped(stmt: Select[Any], company_id: int, query: StatusQuery) -> Select[Any]:
    stmt = stmt.where(t.c.company_id == company_id, t.c.asset_id.in_(query.asset_ids))
    if query.start is not None:
        stmt = stmt.where(t.c.effective_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(t.c.effective_at < query.end)
    return stmt


def _wanted(query: StatusQuery) -> list[str] | None:
    return sorted({s.value for s in query.statuses}) if query.statuses else None


async def latest_per_asset(
    session: AsyncSession, company_id: int, query: StatusQuery, page: Page
) -> list[dict[str, Any]]:
    """The most recent entry per asset within [start, end); then the status filter; ordered by asset id."""
    latest = (
        _scoped(select(t), company_id, query)
        .distinct(t.c.asset_id)
        .order_by(t.c.asset_id, t.c.effective_at.desc())
        .subquery("latest")
    )
    stmt = select(latest)
    statuses = _wanted(query)
    if statuses:
        stmt = stmt.where(latest.c.status.in_(statuses))
    stmt = stmt.order_by(latest.c.asset_id).limit(page.limit).offset(page.offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def history(session: AsyncSession, company_id: int, query: StatusQuery, page: Page) -> list[dict[str, Any]]:
    """Every entry within [start, end), ordered by (asset_id, effective_at)."""
    stmt = _scoped(select(t), company_id, query)
    statuses = _wanted(query)
    if statuses:
        stmt = stmt.where(t.c.status.in_(statuses))
    stmt = stmt.order_by(t.c.asset_id, t.c.effective_at).limit(page.limit).offset(page.offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
