"""Deal endpoints: the ingestion door, the staff views (``/api/staff/deal/*``) and the resident views
(``/api/resident/deal/*``) of seed 004. Guards: ``gridcommons.community`` (``StaffCluster``,
``ResidentUnit``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gridcommons.community import ClusterRef, ResidentUnit, StaffCluster, UnitRef, registry_lookup
from gridcommons.datetime_window import parse_window
from gridcommons.db import SessionDep
from gridcommons.describe import explain_values
from gridcommons.errors import DomainError, Forbidden, ValidationFailed, responses
from gridcommons.openapi import INGESTION_TAG
from gridcommons.serialization import fast_json

from ..roles import Ingestor
from ..settings import DealSettings
from . import service
from .repository import DealScope
from .schemas import (
    BudoDeal,
    DatetimeRange,
    Deal,
    IngestDealsRequest,
    IngestDealsResponse,
    ResidentDeal,
    parse_format,
    parse_timezone,
)

staff_router = APIRouter(prefix="/api/staff/deal", tags=["deals (staff)"])
resident_router = APIRouter(prefix="/api/resident/deal", tags=["deals (resident)"])
# The ingestion door is listed under the shared ingestion tag only (one tag per operation).
ingest_router = APIRouter(tags=[INGESTION_TAG["name"]])

TRUNCATED_HEADER = "X-Result-Truncated"

STAFF_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId, or a bad parameter (the text says which)"),
    (Forbidden, "`staff required`: the caller is not an admin or operator of the company"),
)
RESIDENT_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId/unitId, or a bad parameter (the text says which)"),
    (Forbidden, "`not a resident`: the caller is not linked to the unit"),
)
LIST_HEADERS = {
    TRUNCATED_HEADER: {
        "description": "`true` when more deals matched than the service answers at once (DEAL_LIST_MAX): "
        "narrow the window or page with limit/offset.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


# ----------------------------------------------------------------------------- shared parameters
FormatQuery = Annotated[
    str | None,
    Query(
        alias="formatType",
        description="Output format: absent or empty for the full form; `budo` (any case) for the short form.",
        json_schema_extra=explain_values(
            {"budo": "The short form used by the visual pages (id, units, master flag, start time)"}
        ),
    ),
]
FromQuery = Annotated[
    str | None,
    Query(
        alias="datetimeFrom",
        description="Inclusive lower bound on createDateTime: ISO 8601 date-time with offset, e.g. 2020-01-01T00:00:00Z.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="datetimeTo",
        description="Exclusive upper bound on createDateTime: ISO 8601 date-time with offset; must be after datetimeFrom.",
    ),
]
TimezoneQuery = Annotated[
    str | None,
    Query(
        description="Time zone of the hours: `Z`, `+09:00`, `+0900` or an IANA name such as `Europe/Berlin` "
        "(hours follow its daylight-saving changes). Encode `+` as `%2B` (an unencoded `+` arriving as a space is read as `+`).",
    ),
]
LimitQuery = Annotated[
    int | None,
    Query(ge=1, le=100_000, description="At most this many deals (default: all, up to DEAL_LIST_MAX)."),
]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many deals first (with limit: paging).")]


def _settings(request: Request) -> DealSettings:
    settings: DealSettings = request.app.state.settings
    return settings


def _staff_scope(cluster: ClusterRef) -> DealScope:
    return DealScope(cluster.company_id, cluster.community_code, cluster.cluster_code)


def _resident_scope(unit: UnitRef) -> DealScope:
    return DealScope(unit.company_id, unit.community_code, unit.cluster_code, unit.unit_code)


def _answer(found: service.DealList) -> Response:
    # Hand-serialised: the full forms leave absent fields out while the budo form writes nulls, as the
    # seed shows; response_model documents the shapes (tests hold the bodies to them).
    response = fast_json(found.items)
    if found.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
    return response


async def _list(
    request: Request,
    session: SessionDep,
    scope: DealScope,
    fmt: str | None,
    limit: int | None,
    offset: int,
    *,
    live: bool = False,
    datetime_from: str | None = None,
    datetime_to: str | None = None,
) -> Response:
    settings = _settings(request)
    window = parse_window(datetime_from, datetime_to)
    page = service.ListPage(limit, offset, settings.list_max)
    found = await service.deals(
        session,
        scope,
        page,
        parse_format(fmt),
        window=window,
        live_window_seconds=settings.live_window_seconds if live else None,
    )
    return _answer(found)


# ----------------------------------------------------------------------------- staff
STAFF_LIST = list[Deal] | list[BudoDeal]


@staff_router.get(
    "/liveList",
    response_model=STAFF_LIST,
    responses={**STAFF_ERRORS, 200: {"headers": LIST_HEADERS}},
)
async def staff_live_list(
    request: Request,
    cluster: StaffCluster,
    session: SessionDep,
    format_type: FormatQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """Deals in progress in the cluster: not deactivated and reported within the live window
    (DEAL_LIVE_WINDOW_SECONDS, 300 s), sorted by createDateTime. Staff (admin, operator) only."""
    return await _list(request, session, _staff_scope(cluster), format_type, limit, offset, live=True)


@staff_router.get(
    "/list",
    response_model=STAFF_LIST,
    responses={**STAFF_ERRORS, 200: {"headers": LIST_HEADERS}},
)
async def staff_list(
    request: Request,
    cluster: StaffCluster,
    session: SessionDep,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
    format_type: FormatQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """Deals of the cluster created in [datetimeFrom, datetimeTo) (either bound optional), sorted by
    createDateTime. Staff (admin, operator) only."""
    return await _list(
        request,
        session,
        _staff_scope(cluster),
        format_type,
        limit,
        offset,
        datetime_from=datetime_from,
        datetime_to=datetime_to,
    )


@staff_router.get(
    "/datetimeRange", response_model=DatetimeRange, response_model_exclude_none=True, responses=STAFF_ERRORS
)
async def staff_datetime_range(cluster: StaffCluster, session: SessionDep) -> dict[str, Any]:
    """First and last createDateTime of the cluster's deals (`{}` without deals)."""
    return await service.datetime_range(session, _staff_scope(cluster))


@staff_router.get("/sumOfCumulateAmountWhsByHour", response_model=dict[str, float], responses=STAFF_ERRORS)
async def staff_sum_of_cumulate_amount_whs_by_hour(
    cluster: StaffCluster,
    session: SessionDep,
    timezone: TimezoneQuery = None,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
) -> dict[str, float]:
    """Energy shared (cumulateAmountWh, Wh) in the cluster, summed by the hour of day (`"0"`..`"23"`) in
    which each deal was created, in the given time zone; only hours with deals. Optional window on
    createDateTime."""
    zone = parse_timezone(timezone)
    window = parse_window(datetime_from, datetime_to)
    return await service.hourly_sums(session, _staff_scope(cluster), zone, window)


# ----------------------------------------------------------------------------- resident
RESIDENT_LIST = list[ResidentDeal] | list[BudoDeal]


@resident_router.get(
    "/liveList",
    response_model=RESIDENT_LIST,
    responses={**RESIDENT_ERRORS, 200: {"headers": LIST_HEADERS}},
)
async def resident_live_list(
    request: Request,
    unit: ResidentUnit,
    session: SessionDep,
    format_type: FormatQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """Deals in progress that the unit takes part in (charging or discharging side), in the resident
    form: other units' codes as `******`. For members linked to the unit."""
    return await _list(request, session, _resident_scope(unit), format_type, limit, offset, live=True)


@resident_router.get(
    "/list",
    response_model=RESIDENT_LIST,
    responses={**RESIDENT_ERRORS, 200: {"headers": LIST_HEADERS}},
)
async def resident_list(
    request: Request,
    unit: ResidentUnit,
    session: SessionDep,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
    format_type: FormatQuery = None,
    limit: LimitQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """Deals the unit took part in, created in [datetimeFrom, datetimeTo), in the resident form."""
    return await _list(
        request,
        session,
        _resident_scope(unit),
        format_type,
        limit,
        offset,
        datetime_from=datetime_from,
        datetime_to=datetime_to,
    )


@resident_router.get(
    "/datetimeRange", response_model=DatetimeRange, response_model_exclude_none=True, responses=RESIDENT_ERRORS
)
async def resident_datetime_range(unit: ResidentUnit, session: SessionDep) -> dict[str, Any]:
    """First and last createDateTime of the deals the unit took part in (`{}` without deals)."""
    return await service.datetime_range(session, _resident_scope(unit))


@resident_router.get("/sumOfCumulateAmountWhsByHour", response_model=dict[str, float], responses=RESIDENT_ERRORS)
async def resident_sum_of_cumulate_amount_whs_by_hour(
    unit: ResidentUnit,
    session: SessionDep,
    timezone: TimezoneQuery = None,
    datetime_from: FromQuery = None,
    datetime_to: ToQuery = None,
) -> dict[str, float]:
    """Energy shared in the deals the unit took part in, summed by the hour of day of their creation."""
    zone = parse_timezone(timezone)
    window = parse_window(datetime_from, datetime_to)
    return await service.hourly_sums(session, _resident_scope(unit), zone, window)


# ----------------------------------------------------------------------------- ingestion
@ingest_router.post("/api/ingest/deals", response_model=IngestDealsResponse, responses=responses(ValidationFailed))
async def ingest_deals(
    request: Request, body: IngestDealsRequest, session: SessionDep, who: Ingestor
) -> IngestDealsResponse:
    """Record a batch of 1..1000 deal reports (atomic; 422 naming every report whose
    communityId/clusterId the registry does not know).

    Reports are upserted by dealId: a report older than the stored one (reportTime) changes nothing,
    so reports may arrive late, twice or out of order. Each deal created or moved forward publishes
    one event on deals.deal.v1. Also accepted on Kafka topic ingest.deals.v1 with the same payload."""
    return await service.ingest(session, registry_lookup(request), who.company_id, body.deals)
