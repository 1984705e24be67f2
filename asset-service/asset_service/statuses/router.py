from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, responses
from gridcommons.openapi import INGESTION_TAG
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant, window_from, window_to

from ..roles import Ingestor, Reader
from ..validation import AssetIdPath, AssetIdsQuery
from . import service
from .schemas import (
    AssetStatus,
    AssetStatusEntry,
    IngestStatusesRequest,
    IngestStatusesResponse,
    StatusListResponse,
    StatusQuery,
)

router = APIRouter(tags=["statuses"])
# The ingestion door is listed under the shared ingestion tag only (one tag per operation).
ingest_router = APIRouter(tags=[INGESTION_TAG["name"]])

NOT_FOUND = responses((NotFound, "No such asset in this company, or no status recorded for it yet"))


@router.get("/api/assets/{asset_id}/status", response_model=AssetStatusEntry, responses=NOT_FOUND)
async def get_asset_status(asset_id: AssetIdPath, session: SessionDep, who: Reader) -> AssetStatusEntry:
    """Return the latest operational status of an asset (the entry with the greatest effective_at)."""
    return await service.latest_status(session, who.company_id, asset_id)


@router.get("/api/asset-statuses", response_model=StatusListResponse)
async def list_asset_statuses(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    latest: Annotated[
        bool, Query(description="true: only the most recent status per asset (as of `to` when given).")
    ] = False,
    from_: Annotated[UtcInstant | None, window_from("effective_at")] = None,
    to: Annotated[UtcInstant | None, window_to("effective_at")] = None,
    status: Annotated[
        list[AssetStatus] | None,
        Query(description="Keep only entries with one of these statuses (repeat the parameter for several)."),
    ] = None,
) -> StatusListResponse:
    """Return asset status entries for one or more assets.

    With latest=true, returns the most recent status per asset (within [from, to) when given: the
    status as of `to`), ordered by asset id; the status filter then keeps the assets whose latest
    entry has one of the statuses. With from/to only, returns the history of status changes with
    effective_at in [from, to) (either bound may be omitted), ordered by (asset_id, effective_at).
    At least one of latest or from/to is required (422). Unknown asset ids yield no entries."""
    query = StatusQuery(asset_ids=asset_ids, latest=latest, start=from_, end=to, statuses=status)
    return await service.list_statuses(session, who.company_id, query, page)


@ingest_router.post("/api/ingest/asset-statuses", response_model=IngestStatusesResponse)
async def ingest_asset_statuses(
    body: IngestStatusesRequest, session: SessionDep, who: Ingestor
) -> IngestStatusesResponse:
    """Record a batch of 1..1000 status changes (atomic; 422 naming every unknown asset id).

    Idempotent: an entry is keyed by (asset_id, effective_at); re-sending it overwrites status and
    reasons (created_at kept) and publishes an event only if something changed. Also accepted on
    Kafka topic ingest.asset-statuses.v1 with the same payload."""
    return await service.record_statuses(session, who.company_id, body)
