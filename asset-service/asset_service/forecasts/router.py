from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, responses
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant, window_from, window_to

from ..roles import Reader, Writer
from ..validation import AssetIdsQuery
from . import service
from .schemas import ForecastListResponse, UpsertForecastsRequest, UpsertForecastsResponse

router = APIRouter(prefix="/api/forecasts", tags=["forecasts"])

UNKNOWN_ASSET = responses((NotFound, "An asset_id is not an asset of this company"))


@router.post("", response_model=UpsertForecastsResponse, responses=UNKNOWN_ASSET)
async def upsert_forecasts(body: UpsertForecastsRequest, session: SessionDep, who: Writer) -> dict[str, Any]:
    """Batch upsert 15-minute forecast periods (1..1000) for one or more assets.

    Natural key (asset_id, start_time): re-submitting a key overwrites the forecast values and
    updated_at; created_at never changes. delivery_day is derived from start_time in the asset's
    region calendar and must not be supplied. All or nothing; 404 naming every unknown asset id.
    """
    return await service.upsert_forecasts(session, who.company_id, body)


@router.get("", response_model=ForecastListResponse)
async def list_forecasts(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    from_: Annotated[UtcInstant, window_from("start_time")],
    to: Annotated[UtcInstant, window_to("start_time")],
) -> dict[str, Any]:
    """Forecast periods with start_time in [from, to), ordered by (asset_id, start_time)."""
    return await service.list_forecasts(session, who.company_id, asset_ids, from_, to, page)
