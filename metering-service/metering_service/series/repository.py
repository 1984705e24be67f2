"""SQL of series; every statement is scoped by company_id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gridcommons.pagination import Page

from ..db import community_replica
from .models import series, series_units
from .schemas import SeriesQuery


async def create_series(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(series).values(**values).returning(*series.c))).mappings().one()


async def get_series(session: AsyncSession, company_id: int, series_id: int) -> RowMapping | None:
    stmt = select(series).where(series.c.company_id == company_id, series.c.id == series_id)
    return (await session.execute(stmt)).mappings().one_or_none()


def _linked_to(company_id: int, unit_ids: Collection[int]) -> ColumnElement[bool]:
    """The series linked to one of ``unit_ids`` (one index range of ``series_units`` per unit)."""
    linked = select(series_units.c.series_id).where(
        series_units.c.company_id == company_id, series_units.c.unit_id.in_(sorted(unit_ids))
    )
    return series.c.id.in_(linked)


async def list_series(
    session: AsyncSession,
    company_id: int,
    query: SeriesQuery,
    page: Page,
    unit_ids: Collection[int] | None = None,
    linked_to: Collection[int] | None = None,
) -> Sequence[RowMapping]:
    """The company's series by id; with ``unit_ids`` (a member's units), only those linked to one of these
    units; with ``linked_to`` (the query's unit) too, only those also linked to it."""
    stmt = select(series).where(series.c.company_id == company_id)
    for units in (unit_ids, linked_to):
        if units is not None:
            stmt = stmt.where(_linked_to(company_id, units))
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


async def is_linked(session: AsyncSession, company_id: int, series_id: int, unit_ids: Collection[int]) -> bool:
    """Whether the series is linked to one of ``unit_ids``."""
    if not unit_ids:
        return False
    stmt = select(series_units.c.series_id).where(
        series_units.c.company_id == company_id,
        series_units.c.series_id == series_id,
        series_units.c.unit_id.in_(sorted(unit_ids)),
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def set_units(session: AsyncSession, company_id: int, series_id: int, unit_ids: Collection[int]) -> None:
    """Replace the series' links with ``unit_ids``."""
    await session.execute(
        delete(series_units).where(series_units.c.series_id == series_id, series_units.c.unit_id.not_in(list(unit_ids)))
    )
    if unit_ids:
        await session.execute(
            pg_insert(series_units)
            .values([{"series_id": series_id, "unit_id": u, "company_id": company_id} for u in sorted(unit_ids)])
            .on_conflict_do_nothing()
        )


async def units_of(session: AsyncSession, series_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The units each series is linked to (the replica's codes, in code order): ``{series id: [unit]}``."""
    if not series_ids:
        return {}
    u = community_replica.units
    rows = await session.execute(
        select(
            series_units.c.series_id,
            u.c.id.label("unit_id"),
            u.c.community_code,
            u.c.cluster_code,
            u.c.code.label("unit_code"),
            u.c.retired_at,
        )
        .join(u, (u.c.id == series_units.c.unit_id) & (u.c.company_id == series_units.c.company_id))
        .where(series_units.c.series_id.in_(list(series_ids)))
        .order_by(series_units.c.series_id, u.c.community_code, u.c.cluster_code, u.c.code)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.series_id, []).append(
            {
                "community_code": r.community_code,
                "cluster_code": r.cluster_code,
                "unit_code": r.unit_code,
                "unit_id": r.unit_id,
                "retired": r.retired_at is not None,
            }
        )
    return out
