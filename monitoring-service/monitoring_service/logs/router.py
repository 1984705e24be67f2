"""Log endpoints: the ingestion door ``POST /api/ingest/logs`` and the operators' search
``GET /api/monitoring/logs`` (a cluster's records by unit, program, level and time window, paged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gridcommons.community import StaffCluster, registry_lookup
from gridcommons.db import SessionDep
from gridcommons.errors import DomainError, Forbidden, ValidationFailed, responses
from gridcommons.openapi import INGESTION_TAG
from gridcommons.pagination import PageParams

from ..params import FromQuery, ToQuery, parse_window
from ..roles import Ingestor
from ..settings import MonitoringSettings
from . import service
from .repository import LogQuery
from .schemas import IngestLogsRequest, IngestLogsResponse, LogLevel, LogPage

router = APIRouter(prefix="/api/monitoring", tags=["logs"])
ingest_router = APIRouter(tags=[INGESTION_TAG["name"]])

STAFF_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId, or a bad parameter (the text says which)"),
    (Forbidden, "`staff required`: the caller is not an admin or operator of the company"),
)


def _settings(request: Request) -> MonitoringSettings:
    settings: MonitoringSettings = request.app.state.settings
    return settings


@router.get("/logs", response_model=LogPage, response_model_exclude_none=True, responses=STAFF_ERRORS)
async def search_logs(
    cluster: StaffCluster,
    session: SessionDep,
    page: PageParams,
    unit_id: Annotated[
        str | None, Query(alias="unitId", max_length=64, description="Only this unit's records.")
    ] = None,
    program_id: Annotated[
        str | None, Query(alias="programId", max_length=64, description="Only this program's records (apis-main, ...).")
    ] = None,
    loglevel: Annotated[LogLevel | None, Query(description="Only records of this level.")] = None,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
) -> LogPage:
    """The cluster's program log records, newest first, filtered by unit, program, level and time window
    [datetimeFrom, datetimeTo); paged with limit/offset. Staff (admin, operator) only."""
    window = parse_window(datetime_from, datetime_to)
    query = LogQuery(
        company_id=cluster.company_id,
        community_code=cluster.community_code,
        cluster_code=cluster.cluster_code,
        unit_id=unit_id or None,
        program_id=program_id or None,
        loglevel=None if loglevel is None else loglevel.value,
        start=window.start,
        end=window.end,
    )
    return await service.search(session, query, page)


@ingest_router.post("/api/ingest/logs", response_model=IngestLogsResponse, responses=responses(ValidationFailed))
async def ingest_logs(
    request: Request, body: IngestLogsRequest, session: SessionDep, who: Ingestor
) -> IngestLogsResponse:
    """Record a batch of 1..1000 program log records (atomic; 422 naming every record whose
    communityId/clusterId the registry does not know, or whose datetime lies outside the retention or
    in the future). The monitoring jobs judge them. Also accepted on Kafka topic ingest.logs.v1 with
    the same payload."""
    return await service.ingest(session, registry_lookup(request), who.company_id, body.logs, _settings(request))
