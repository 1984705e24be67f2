"""Rules of series: one live series per external key in a company; kind and unit are fixed at creation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, NotFound
from gridcommons.pagination import Page

from . import repository
from .models import series
from .schemas import (
    CreateSeriesRequest,
    PatchSeriesRequest,
    SeriesListResponse,
    SeriesQuery,
    SeriesResponse,
)


def _not_found(series_id: int) -> NotFound:
    return NotFound(f"Series {series_id} not found")


async def _key_taken(session: AsyncSession, company_id: int, external_key: str, but: int | None = None) -> bool:
    stmt = select(series.c.id).where(
        series.c.company_id == company_id, series.c.external_key == external_key, series.c.retired_at.is_(None)
    )
    if but is not None:
        stmt = stmt.where(series.c.id != but)
    return (await session.execute(stmt.limit(1))).first() is not None


def _key_conflict(external_key: str) -> Conflict:
    return Conflict(f"A live series with external key {external_key!r} already exists in this company")


async def create_series(session: AsyncSession, company_id: int, body: CreateSeriesRequest) -> SeriesResponse:
    if await _key_taken(session, company_id, body.external_key):
        raise _key_conflict(body.external_key)  # a concurrent twin still ends as 409 (unique index)
    row = await repository.create_series(
        session,
        {
            "company_id": company_id,
            "external_key": body.external_key,
            "name": body.name,
            "kind": body.kind.value,
            "unit": body.unit.value,
            "timezone": body.timezone,
            "metadata": body.metadata,
        },
    )
    return SeriesResponse.from_row(row)


async def get_series(session: AsyncSession, company_id: int, series_id: int) -> SeriesResponse:
    row = await repository.get_series(session, company_id, series_id)
    if row is None:
        raise _not_found(series_id)
    return SeriesResponse.from_row(row)


async def list_series(session: AsyncSession, company_id: int, query: SeriesQuery, page: Page) -> SeriesListResponse:
    rows = await repository.list_series(session, company_id, query, page)
    return SeriesListResponse(limit=page.limit, offset=page.offset, series=[SeriesResponse.from_row(r) for r in rows])


async def patch_series(
    session: AsyncSession, company_id: int, series_id: int, body: PatchSeriesRequest
) -> SeriesResponse:
    current = await repository.get_series(session, company_id, series_id)
    if current is None:
        raise _not_found(series_id)
    changes = body.model_dump(exclude_unset=True)
    # null clears the name; for the other fields it means "keep", as omission does
    changes = {k: v for k, v in changes.items() if v is not None or k == "name"}
    key = changes.get("external_key")
    if key is not None and current["retired_at"] is None and await _key_taken(session, company_id, key, but=series_id):
        raise _key_conflict(key)
    if not changes:
        return SeriesResponse.from_row(current)
    row = await repository.update_series(session, company_id, series_id, changes)
    if row is None:
        raise _not_found(series_id)
    return SeriesResponse.from_row(row)


async def retire_series(session: AsyncSession, company_id: int, series_id: int) -> SeriesResponse:
    row = await repository.retire_series(session, company_id, series_id)
    if row is None:
        raise _not_found(series_id)
    return SeriesResponse.from_row(row)
