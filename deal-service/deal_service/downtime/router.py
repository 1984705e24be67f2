"""Downtime endpoints (``/api/staff/downtime/*``): seed 004's ``unitIdList`` and ``list``, and the
availability report the original computed in the browser. Guard: ``gridcommons.community.StaffCluster``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gridcommons.community import StaffCluster, registry_lookup
from gridcommons.datetime_window import bad_request, parse_window
from gridcommons.db import SessionDep
from gridcommons.errors import DomainError, Forbidden, responses
from gridcommons.timeutil import utcnow

from ..settings import DealSettings
from . import service
from .schemas import AvailabilityReport, Downtime

router = APIRouter(prefix="/api/staff/downtime", tags=["downtime (staff)"])

TRUNCATED_HEADER = "X-Result-Truncated"
STAFF_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId/unitId, or a bad parameter (the text says which)"),
    (Forbidden, "`staff required`: the caller is not an admin or operator of the company"),
)

FromQuery = Annotated[
    str | None,
    Query(
        alias="datetimeFrom",
        description="Start of the window: ISO 8601 date-time with offset, e.g. 2020-01-01T15:00:00.000Z.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="datetimeTo",
        description="End of the window (exclusive): ISO 8601 date-time with offset; must be after datetimeFrom.",
    ),
]
UnitQuery = Annotated[
    str | None, Query(alias="unitId", description="Only this unit's downtimes (its code in the cluster).")
]
LimitQuery = Annotated[
    int | None,
    Query(ge=1, le=100_000, description="At most this many downtimes (default: all, up to DEAL_LIST_MAX)."),
]
OffsetQuery = Annotated[
    int, Query(ge=0, le=10_000_000, description="Skip this many downtimes first (with limit: paging).")
]


@router.get("/unitIdList", response_model=list[str], responses=STAFF_ERRORS)
async def staff_downtime_unit_id_list(
    cluster: StaffCluster, session: SessionDep, datetime_from: FromQuery = None, datetime_to: ToQuery = None
) -> list[str]:
    """Codes of the cluster's units whose unit data was processed for downtime, sorted; with
    datetimeFrom/datetimeTo, only units that reported within [datetimeFrom, datetimeTo) (their first and
    last samples span it)."""
    window = parse_window(datetime_from, datetime_to)
    return await service.unit_id_list(session, cluster, window.start, window.end)


@router.get(
    "/list",
    response_model=list[Downtime],
    responses={
        **STAFF_ERRORS,
        200: {
            "headers": {
                TRUNCATED_HEADER: {
                    "description": "`true` when more downtimes matched than the service answers at once "
                    "(DEAL_LIST_MAX): narrow the window or page with limit/offset.",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        },
    },
)
async def staff_downtime_list(
    request: Request,
    response: Response,
    cluster: StaffCluster,
    session: SessionDep,
    unit_id: UnitQuery = None,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> list[dict[str, Any]]:
    """Downtimes of the cluster (or of one unit) that overlap [datetimeFrom, datetimeTo): ended at or after
    datetimeFrom (or still open) and begun before datetimeTo; unclipped, sorted by downDateTime then unit.
    `recoveryDateTime` null: the unit is still down."""
    window = parse_window(datetime_from, datetime_to)
    if unit_id is not None and unit_id != "":
        found = await registry_lookup(request).unit(
            session, cluster.company_id, cluster.community_code, cluster.cluster_code, unit_id
        )
        if found is None:
            raise bad_request("bad param values : unitId")
    settings: DealSettings = request.app.state.settings
    found_list = await service.downtime_list(
        session, cluster, window.start, window.end, unit_id or None, limit, offset, settings.list_max
    )
    if found_list.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
    return found_list.items


@router.get("/availability", response_model=AvailabilityReport, responses=STAFF_ERRORS)
async def staff_downtime_availability(
    cluster: StaffCluster, session: SessionDep, datetime_from: FromQuery = None, datetime_to: ToQuery = None
) -> dict[str, Any]:
    """Availability of the cluster's units over [datetimeFrom, datetimeTo) (both required), computed on the
    server: per unit its period (the window, cut at now, clipped to the unit's availability), downtime in
    it, available time and ratio; then the cluster's totals and averages. Units that never reported are
    listed as such (`reported: false`, nulls), not as 100 % available; an empty period has a null ratio."""
    if not datetime_from or not datetime_to:
        raise bad_request("no param : datetimeFrom, datetimeTo")
    window = parse_window(datetime_from, datetime_to)
    assert window.start is not None and window.end is not None
    return await service.availability(session, cluster, window.start, window.end, utcnow())
