"""Failure endpoints of seed 004: ``/api/staff/monitoring/failure/openList`` and ``failure/list``
(guard: ``gridcommons.community.StaffCluster``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gridcommons.community import StaffCluster
from gridcommons.db import SessionDep
from gridcommons.errors import DomainError, Forbidden, responses
from gridcommons.serialization import fast_json

from ..params import FromQuery, ToQuery, parse_window
from ..settings import MonitoringSettings
from . import service
from .schemas import Failure

router = APIRouter(prefix="/api/staff/monitoring/failure", tags=["monitoring (staff)"])

TRUNCATED_HEADER = "X-Result-Truncated"
STAFF_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId, or a bad parameter (the text says which)"),
    (Forbidden, "`staff required`: the caller is not an admin or operator of the company"),
)
LIST_HEADERS = {
    TRUNCATED_HEADER: {
        "description": "`true` when more failures matched than the service answers at once "
        "(MONITORING_FAILURE_LIST_MAX): narrow the window or page with limit/offset.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
LimitQuery = Annotated[
    int | None,
    Query(
        ge=1, le=100_000, description="At most this many failures (default: all, up to MONITORING_FAILURE_LIST_MAX)."
    ),
]
OffsetQuery = Annotated[
    int, Query(ge=0, le=10_000_000, description="Skip this many failures first (with limit: paging).")
]


def _settings(request: Request) -> MonitoringSettings:
    settings: MonitoringSettings = request.app.state.settings
    return settings


async def _answer(
    request: Request, session: SessionDep, cluster: StaffCluster, limit: int | None, offset: int, **kw: Any
) -> Response:
    cap = _settings(request).failure_list_max
    size = cap if limit is None else min(limit, cap)
    rows = await service.listed(session, cluster, limit=size + 1, offset=offset, **kw)
    response = fast_json(rows[:size])
    if len(rows) > size and (limit is None or limit > cap):
        response.headers[TRUNCATED_HEADER] = "true"
    return response


@router.get("/openList", response_model=list[Failure], responses={**STAFF_ERRORS, 200: {"headers": LIST_HEADERS}})
async def failure_open_list(
    request: Request,
    cluster: StaffCluster,
    session: SessionDep,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """The cluster's open failures (not closed yet), by detection time. Staff (admin, operator) only."""
    return await _answer(request, session, cluster, limit, offset, open_only=True)


@router.get("/list", response_model=list[Failure], responses={**STAFF_ERRORS, 200: {"headers": LIST_HEADERS}})
async def failure_list(
    request: Request,
    cluster: StaffCluster,
    session: SessionDep,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """The cluster's failures that overlap [datetimeFrom, datetimeTo): open or closed at or after
    datetimeFrom, and detected before datetimeTo (either bound optional), by detection time."""
    window = parse_window(datetime_from, datetime_to)
    return await _answer(request, session, cluster, limit, offset, window=window)
