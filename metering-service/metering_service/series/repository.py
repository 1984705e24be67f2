"""SQL of series; every statement is scoped by company_id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gridcommons.pagination import Page

from .models import series
from .schemas import SeriesQuery


async def create_series(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(series).values(**values).returning(*series.c))).mappings().one()


async def get_series(session: AsyncSession, company_id: int, series_id: int) -> RowMapping | None:
    stmt = select(series).where(series.c.company_id == company_id, series.c.id == series_id)
    return (await session.execute(stmt)).mappings().one_or_none()


async def list_series(session: AsyncSession, company_id: int, query: SeriesQuery, page: Page) -> Sequence[RowMapping]:
    stmt = select(series).where(series.c.company_id == company_id)
    if query.external_key is not None:
        stmt = stmt.where(series.c.external_key == query.external_key)
    if not query.include_retired:
        stmt = stmt.where(series.c.retired_at.is_(None))
    stmt = stmt.order_by(series.c.id).limit(page.limit).offset(page.offset)
    return (await session.execute(stmt)).mappings().all()


async def update_series(
    session: AsyncSession, company_id: int, series_id: int, values: dict[str, Any]
) -> RowMapping | None:
    stmt = (
        update(series)
        .where(series.c.company_id == company_id, series.c.id == series_id)
        .values(**values, updated_at=func.now())
        .returning(*series.c)
    )
    return (await session.execute(stmt)).mappings().one_or_none()


async def retire_series(session: AsyncSession, company_id: int, series_id: int) -> RowMapping | None:
    """Sets retired_at once (a second retire keeps the first instant)."""
    stmt = (
        update(series)
        .where(series.c.company_id == company_id, series.c.id == series_id)
        .values(
            retired_at=func.coalesce(series.c.retired_at, func.now()),
            updated_at=func.coalesce(series.c.retired_at, func.now()),
        )
        .returning(*series.c)
    )
    return (await session.execute(stmt)).mappings().one_or_none()


async def resolve_series(
    session: AsyncSession, company_id: int, ids: Collection[int], keys: Collection[str]
) -> Sequence[RowMapping]:
    """The company's series named by id (live or retired) or by external key (live only), locked
    against a concurrent retire (FOR KEY SHARE would not block it: the update touches no key)."""
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions.append(series.c.id.in_(list(ids)))
    if keys:
        conditions.append(series.c.external_key.in_(list(keys)) & series.c.retired_at.is_(None))
    if not conditions:
        return []
    stmt = (
        select(series.c.id, series.c.external_key, series.c.unit, series.c.retired_at)
        .where(series.c.company_id == company_id, or_(*conditions))
        .with_for_update(read=True)
    )
    return (await session.execute(stmt)).mappings().all()
