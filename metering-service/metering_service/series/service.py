"""Rules of series: one live series per external key in a company; kind and unit are fixed at creation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page

from ..db import community_replica
from . import repository
from .access import SeriesReader
from .models import series
from .schemas import (
    CreateSeriesRequest,
    PatchSeriesRequest,
    SeriesListResponse,
    SeriesQuery,
    SeriesResponse,
    UnitLink,
)

UNKNOWN_UNIT = "unknown unit"  # also another company's: existence is not revealed


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


async def _unit_ids(
    session: AsyncSession, company_id: int, links: Sequence[UnitLink], loc: Sequence[str | int]
) -> set[int]:
    """The registry ids of the linked units (the replica), or a 422 naming every unknown one."""
    codes = [(u.community_code, u.cluster_code, u.unit_code) for u in links]
    found = await community_replica.lookup.units_by_codes(session, company_id, codes)
    errors = [field_error([*loc, i], UNKNOWN_UNIT, "/".join(key)) for i, key in enumerate(codes) if key not in found]
    if errors:
        raise ValidationFailed(errors)
    return {found[key].unit_id for key in codes}


async def _responses(session: AsyncSession, rows: Sequence[RowMapping]) -> list[SeriesResponse]:
    units = await repository.units_of(session, [r["id"] for r in rows])
    return [SeriesResponse.from_row({**r, "units": units.get(r["id"], [])}) for r in rows]


async def _response(session: AsyncSession, row: RowMapping) -> SeriesResponse:
    return (await _responses(session, [row]))[0]


async def create_series(session: AsyncSession, company_id: int, body: CreateSeriesRequest) -> SeriesResponse:
    if await _key_taken(session, company_id, body.external_key):
        raise _key_conflict(body.external_key)  # a concurrent twin still ends as 409 (unique index)
    unit_ids = await _unit_ids(session, company_id, body.units, ["body", "units"])
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
    await repository.set_units(session, company_id, row["id"], unit_ids)
    return await _response(session, row)


async def readable_series(session: AsyncSession, reader: SeriesReader, series_id: int) -> RowMapping:
    """The series if the reader may read it (staff: any of the company's; a member: one linked to a unit
    they are a resident of), else 404 (the same answer as for another company's series)."""
    row = await repository.get_series(session, reader.company_id, series_id)
    if row is None or (
        reader.unit_ids is not None
        and not await repository.is_linked(session, reader.company_id, series_id, reader.unit_ids)
    ):
        raise _not_found(series_id)
    return row


async def get_series(session: AsyncSession, reader: SeriesReader, series_id: int) -> SeriesResponse:
    return await _response(session, await readable_series(session, reader, series_id))


async def list_series(
    session: AsyncSession, reader: SeriesReader, query: SeriesQuery, page: Page
) -> SeriesListResponse:
    linked_to: set[int] | None = None  # the unit filter: the series linked to that unit (unknown: none)
    if query.unit is not None:
        found = await community_replica.lookup.units_by_codes(session, reader.company_id, [query.unit])
        linked_to = {u.unit_id for u in found.values()}
    rows = await repository.list_series(session, reader.company_id, query, page, reader.unit_ids, linked_to)
    return SeriesListResponse(limit=page.limit, offset=page.offset, series=await _responses(session, rows))


async def patch_series(
    session: AsyncSession, company_id: int, series_id: int, body: PatchSeriesRequest
) -> SeriesResponse:
    current = await repository.get_series(session, company_id, series_id)
    if current is None:
        raise _not_found(series_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"units"})
    # null clears the name; for the other fields it means "keep", as omission does
    changes = {k: v for k, v in changes.items() if v is not None or k == "name"}
    key = changes.get("external_key")
    if key is not None and current["retired_at"] is None and await _key_taken(session, company_id, key, but=series_id):
        raise _key_conflict(key)
    if body.units is not None:
        unit_ids = await _unit_ids(session, company_id, body.units, ["body", "units"])
        await repository.set_units(session, company_id, series_id, unit_ids)
    if not changes and body.units is None:
        return await _response(session, current)
    row = await repository.update_series(session, company_id, series_id, changes)
    if row is None:
        raise _not_found(series_id)
    return await _response(session, row)


async def retire_series(session: AsyncSession, company_id: int, series_id: int) -> SeriesResponse:
    row = await repository.retire_series(session, company_id, series_id)
    if row is None:
        raise _not_found(series_id)
    return await _response(session, row)
