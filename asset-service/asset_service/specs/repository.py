"""SQL of the technical-specs domain. Every statement is scoped by company."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import technical_specs as t


def _key(company_id: int, asset_id: str) -> Any:
    return and_(t.c.company_id == company_id, t.c.asset_id == asset_id)


async def lock_spec(
    session: AsyncSession, company_id: int, asset_id: str, valid_from: datetime
) -> dict[str, Any] | None:
    stmt = select(t).where(_key(company_id, asset_id), t.c.valid_from == valid_from).with_for_update()
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def lock_active(session: AsyncSession, company_id: int, asset_id: str) -> dict[str, Any] | None:
    """The open-ended version (valid_to IS NULL) of the asset; at most one exists (EXCLUDE)."""
    stmt = select(t).where(_key(company_id, asset_id), t.c.valid_to.is_(None)).with_for_update()
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def update_spec(
    session: AsyncSession, company_id: int, asset_id: str, valid_from: datetime, values: dict[str, Any]
) -> dict[str, Any]:
    stmt = (
        update(t)
        .where(_key(company_id, asset_id), t.c.valid_from == valid_from)
        .values(**values, updated_at=func.now())
        .returning(*t.c)
    )
    return dict((await session.execute(stmt)).one()._mapping)


async def insert_spec(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a new version; None when a concurrent writer inserted the same key first."""
    stmt = (
        insert(t)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["company_id", "asset_id", "valid_from"])
        .returning(*t.c)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def overlapping(
    session: AsyncSession, company_id: int, asset_id: str, valid_from: datetime, valid_to: datetime | None
) -> list[dict[str, Any]]:
    stmt = (
        select(t.c.valid_from, t.c.valid_to)
        .where(
            _key(company_id, asset_id),
            t.c.valid_from != valid_from,
            func.tstzrange(t.c.valid_from, t.c.valid_to, text("'[)'")).op("&&")(
                func.tstzrange(valid_from, valid_to, text("'[)'"))
            ),
        )
        .order_by(t.c.valid_from)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def list_specs(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    *,
    latest: bool,
    valid_from_min: datetime | None,
    valid_from_max: datetime | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    conds = [t.c.company_id == company_id, t.c.asset_id.in_(asset_ids)]
    if valid_from_min is not None:
        conds.append(t.c.valid_from >= valid_from_min)
    if valid_from_max is not None:
        conds.append(t.c.valid_from <= valid_from_max)
    base = select(t).where(*conds)
    if latest:
        inner = base.distinct(t.c.asset_id).order_by(t.c.asset_id, t.c.valid_from.desc()).subquery()
        stmt = select(inner).order_by(inner.c.asset_id, inner.c.valid_from.desc()).limit(limit).offset(offset)
    else:
        stmt = base.order_by(t.c.asset_id, t.c.valid_from.desc()).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
