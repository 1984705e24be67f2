from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gridcommons.db import SessionDep
from gridcommons.pagination import PageParams
from gridcommons.validation import CalendarDate, UtcInstant, window_from, window_to

from ..roles import Reader
from ..validation import AssetIdsQuery
from . import service
from .schemas import DispatchListResponse, DispatchQuery

router = APIRouter(tags=["dispatches"])


@router.get("/api/dispatches", response_model=DispatchListResponse)
async def list_dispatches(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    from_: Annotated[UtcInstant | None, window_from("dispatch_time", "; required with to unless delivery_day")] = None,
    to: Annotated[UtcInstant | None, window_to("dispatch_time", "; required with from unless delivery_day")] = None,
    delivery_day: Annotated[
        CalendarDate | None,
        Query(
            description="Dispatches whose delivery period lies in this delivery day: a local calendar date (YYYY-MM-DD) of the asset's region (Europe/Berlin for DE, Europe/Warsaw for PL)."
        ),
    ] = None,
) -> DispatchListResponse:
    """Return a paginated history of dispatch commands.

    Read-only: dispatch commands are written by the ingestion worker of ingest.dispatches.v1. Give
    from and to (dispatch_time in [from, to)), or delivery_day, or both (both filters apply); neither
    is a 422. Ordered by (dispatch_time, asset_id, delivery_period_start, event_id); unknown asset ids
    yield no entries."""
    query = DispatchQuery(asset_ids=asset_ids, start=from_, end=to, delivery_day=delivery_day)
    return await service.list_dispatches(session, who.company_id, query, page)
