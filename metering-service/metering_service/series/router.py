from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, Forbidden, NotFound, ValidationFailed, responses
from gridcommons.openapi_links import Link, links
from gridcommons.pagination import PageParams

from ..roles import Manager
from . import service
from .access import Reader
from .schemas import (
    MAX_SERIES_ID,
    CreateSeriesRequest,
    PatchSeriesRequest,
    SeriesListResponse,
    SeriesQuery,
    SeriesResponse,
)

router = APIRouter(prefix="/api/metering/series", tags=["series"])

SeriesIdPath = Annotated[int, Path(ge=1, le=MAX_SERIES_ID, description="Series id.", examples=[12])]
NOT_FOUND = (NotFound, "No such series in this company (for a member: none linked to a unit of theirs)")
FORBIDDEN = (Forbidden, "The caller's role may not do this (a member only reads; a device only ingests)")


@router.post(
    "",
    response_model=SeriesResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(
        (Conflict, "A live series of this company already has this external key"), ValidationFailed, FORBIDDEN
    ),
    openapi_extra=links(201, GetSeries=Link("GET", "/api/metering/series/{series_id}", series_id="$response.body#/id")),
)
async def create_series(body: CreateSeriesRequest, session: SessionDep, who: Manager) -> SeriesResponse:
    """Create a series: its kind and unit (fixed for its life), its external key (unique among the
    company's live series), its calendar's time zone (default Europe/Paris) and the registry units it is
    linked to (their residents may read it)."""
    return await service.create_series(session, who.company_id, body)


@router.get("", response_model=SeriesListResponse, responses=responses(FORBIDDEN, ValidationFailed))
async def list_series(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    external_key: Annotated[
        str | None, Query(max_length=255, description="Only the series with this external key.")
    ] = None,
    include_retired: Annotated[bool, Query(description="true: retired series too (default: live ones only).")] = False,
    community_code: Annotated[
        str | None,
        Query(max_length=64, description="With cluster_code and unit_code: only the series linked to this unit."),
    ] = None,
    cluster_code: Annotated[str | None, Query(max_length=64, description="Code of the unit's cluster.")] = None,
    unit_code: Annotated[str | None, Query(max_length=64, description="Code of the unit.")] = None,
) -> SeriesListResponse:
    """List the company's series, ordered by id (a member: the series linked to the units they are a
    resident of); with `community_code`, `cluster_code` and `unit_code` (all three), only the series linked
    to that unit (an unknown unit: none)."""
    unit = None
    if community_code and cluster_code and unit_code:
        unit = (community_code, cluster_code, unit_code)
    elif community_code is not None or cluster_code is not None or unit_code is not None:
        raise ValidationFailed.at(["query", "unit_code"], "give community_code, cluster_code and unit_code together")
    query = SeriesQuery(external_key=external_key, include_retired=include_retired, unit=unit)
    return await service.list_series(session, who, query, page)


@router.get("/{series_id}", response_model=SeriesResponse, responses=responses(NOT_FOUND, FORBIDDEN))
async def get_series(series_id: SeriesIdPath, session: SessionDep, who: Reader) -> SeriesResponse:
    """Return one series (live or retired); a member reads only a series linked to a unit they are a
    resident of (404 otherwise)."""
    return await service.get_series(session, who, series_id)


@router.patch(
    "/{series_id}",
    response_model=SeriesResponse,
    responses=responses(
        NOT_FOUND,
        (Conflict, "A live series of this company already has this external key"),
        ValidationFailed,
        FORBIDDEN,
    ),
)
async def patch_series(
    series_id: SeriesIdPath, body: PatchSeriesRequest, session: SessionDep, who: Manager
) -> SeriesResponse:
    """Change a series' external key, name, time zone, metadata or linked units (kind and unit never
    change)."""
    return await service.patch_series(session, who.company_id, series_id, body)


@router.post("/{series_id}/actions/retire", response_model=SeriesResponse, responses=responses(NOT_FOUND, FORBIDDEN))
async def retire_series(series_id: SeriesIdPath, session: SessionDep, who: Manager) -> SeriesResponse:
    """Retire a series: its readings stay readable, new readings for it are refused, and its external
    key is free for a new series. Retiring a retired series changes nothing."""
    return await service.retire_series(session, who.company_id, series_id)
