"""SQL of the assets domain. Every statement is scoped by company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import asset_id_sequences, assets


async def next_sequence(session: AsyncSession, company_id: int, prefix: str) -> int:
    stmt = (
        insert(asset_id_sequences)
        .values(company_id=company_id, prefix=prefix, last_value=1)
        .on_conflict_do_update(
            index_elements=["company_id", "prefix"],
            set_={"last_value": asset_id_sequences.c.last_value + 1},
        )
        .returning(asset_id_sequences.c.last_value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def insert_asset(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    row = (await session.execute(insert(assets).values(**values).returning(*assets.c))).one()
    return dict(row._mapping)


async def get_asset(session: AsyncSession, company_id: int, asset_id: str) -> dict[str, Any] | None:
    row = (
        await session.execute(select(assets).where(assets.c.company_id == company_id, assets.c.id == asset_id))
    ).first()
    return dict(row._mapping) if row else None


async def list_assets(
    session: AsyncSession, company_id: int, filters: dict[str, Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = select(assets).where(assets.c.company_id == company_id)
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(assets.c[column] == value)
    stmt = stmt.order_by(assets.c.created_at, assets.c.id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def lock_asset(session: AsyncSession, company_id: int, asset_id: str) -> dict[str, Any] | None:
    """The asset row, locked until the transaction ends (serialises concurrent patches)."""
    stmt = select(assets).where(assets.c.company_id == company_id, assets.c.id == asset_id).with_for_update()
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def update_asset(
    session: AsyncSession, company_id: int, asset_id: str, values: dict[str, Any]
) -> dict[str, Any] | None:
    stmt = (
        update(assets)
        .where(assets.c.company_id == company_id, assets.c.id == asset_id)
        .values(**values, updated_at=func.now())
        .returning(*assets.c)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def transition(
    session: AsyncSession, company_id: int, asset_id: str, expected: str, new: str, *, set_go_live: bool
) -> dict[str, Any] | None:
    """Conditional update: applies only if the asset is still in ``expected`` (safe under concurrency:
    of two racing transitions from the same state, the second finds no row and changes nothing)."""
    values: dict[str, Any] = {"lifecycle": new, "updated_at": func.now()}
    if set_go_live:
        # Today in UTC, unless a go-live date was already set.
        values["go_live_date"] = func.coalesce(assets.c.go_live_date, cast(func.timezone("UTC", func.now()), Date))
    stmt = (
        update(assets)
        .where(assets.c.company_id == company_id, assets.c.id == asset_id, assets.c.lifecycle == expected)
        .values(**values)
        .returning(*assets.c)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def delete_asset(
    session: AsyncSession, company_id: int, asset_id: str, deletable: list[str]
) -> dict[str, Any] | None:
    """Deletes the asset if its lifecycle allows it (dependent rows go with it: ON DELETE CASCADE)."""
    stmt = (
        delete(assets)
        .where(assets.c.company_id == company_id, assets.c.id == asset_id, assets.c.lifecycle.in_(deletable))
        .returning(*assets.c)
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None
