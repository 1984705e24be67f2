from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import cast

from gridcommons.pagination import Page

from .models import imports


async def create_import(session: AsyncSession, company_id: int, series_id: int) -> RowMapping:
    stmt = insert(imports).values(company_id=company_id, series_id=series_id, status="running").returning(imports)
    return (await session.execute(stmt)).mappings().one()


async def advance(
    session: AsyncSession,
    import_id: int,
    *,
    read: int,
    written: int,
    unchanged: int,
    rejected: int,
    listed: Sequence[dict[str, Any]],
) -> None:
    """Add a chunk's counts (and the rejections still to list) to the import."""
    await session.execute(
        update(imports)
        .where(imports.c.id == import_id)
        .values(
            rows_read=imports.c.rows_read + read,
            rows_written=imports.c.rows_written + written,
            rows_unchanged=imports.c.rows_unchanged + unchanged,
            rows_rejected=imports.c.rows_rejected + rejected,
            rejections=imports.c.rejections.op("||")(cast(list(listed), JSONB)),
            updated_at=func.now(),
        )
    )


async def finish(session: AsyncSession, import_id: int, status: str, error: str | None = None) -> RowMapping:
    stmt = (
        update(imports)
        .where(imports.c.id == import_id)
        .values(status=status, error=error, updated_at=func.now(), finished_at=func.now())
        .returning(imports)
    )
    return (await session.execute(stmt)).mappings().one()


async def get_import(session: AsyncSession, company_id: int, series_id: int, import_id: int) -> RowMapping | None:
    stmt = select(imports).where(
        imports.c.company_id == company_id, imports.c.series_id == series_id, imports.c.id == import_id
    )
    return (await session.execute(stmt)).mappings().first()


async def list_imports(session: AsyncSession, company_id: int, series_id: int, page: Page) -> Sequence[RowMapping]:
    stmt = (
        select(imports)
        .where(imports.c.company_id == company_id, imports.c.series_id == series_id)
        .order_by(imports.c.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return (await session.execute(stmt)).mappings().all()
