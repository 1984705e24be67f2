"""SQL of the assets domain. Every statement is scoped by company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
