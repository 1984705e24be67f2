"""Rules of asset statuses."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page

from ..assets.lookup import missing_asset_ids
from ..assets.repository import get_asset
from . import events, repository
from .schemas import (
    AssetStatusEntry,
    IngestStatusesRequest,
    IngestStatusesResponse,
    StatusListResponse,
    StatusQuery,
)


async def record_statuses(
    session: AsyncSession, company_id: int, body: IngestStatusesRequest
) -> IngestStatusesResponse:
    """All or nothing: every asset id must exist in the company (422 naming each offending item)."""
    missing = set(await missing_asset_ids(session, company_id, (s.asset_id for s in body.statuses), lock=True))
    if missing:
        raise ValidationFailed(
            field_error(["body", "statuses", i, "asset_id"], f"unknown asset id {s.asset_id}", s.asset_id)
            for i, s in enumerate(body.statuses)
            if s.asset_id in missing
        )
    rows = await repository.upsert_statuses(
        session,
        [
            {
                "company_id": company_id,
                "asset_id": s.asset_id,
                "effective_at": s.effective_at,
                "status": s.status.value,
                "reasons": [r.model_dump(mode="json") for r in s.reasons],
            }
            for s in body.statuses
        ],
    )
    entries = [AssetStatusEntry.from_row(r) for r in rows]
    entries.sort(key=lambda e: (e.asset_id, e.effective_at))
    await events.statuses_changed(session, company_id, entries)
    return IngestStatusesResponse(received=len(body.statuses), changed=len(entries))


async def latest_status(session: AsyncSession, company_id: int, asset_id: str) -> AssetStatusEntry:
    row = await repository.latest_status(session, company_id, asset_id)
    if row is None:
        if await get_asset(session, company_id, asset_id) is None:
            raise NotFound(f"Asset {asset_id} not found")
        raise NotFound(f"Asset {asset_id} has no status yet")
    return AssetStatusEntry.from_row(row)


async def list_statuses(
    session: AsyncSession,
    company_id: int,
    query: StatusQuery,
    page: Page,
) -> StatusListResponse:
    latest, start, end = query.latest, query.start, query.end
    if not latest and start is None and end is None:
        raise ValidationFailed(
            [field_error(["query", "latest"], "at least one of latest=true or from/to is required", latest)]
        )
    if start is not None and end is not None and end <= start:
        raise ValidationFailed([field_error(["query", "to"], "to must be after from", end.isoformat())])
    read = repository.latest_per_asset if latest else repository.history
    rows = await read(session, company_id, query, page)
    return StatusListResponse(
        limit=page.limit, offset=page.offset, statuses=[AssetStatusEntry.from_row(r) for r in rows]
    )
