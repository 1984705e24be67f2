from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic.json_schema import SkipJsonSchema

from gridcommons.db import SessionDep
from gridcommons.describe import explain_values
from gridcommons.errors import NotFound, responses
from gridcommons.openapi_links import Link, links
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant, window_from, window_to

from ..assets.schemas import DeliveryArea, Region
from ..roles import Reader, Writer
from . import service
from .schemas import (
    EXPAND_MEANINGS,
    LIMITS_BODY_LIMIT,
    CreateSiteInverterRequest,
    CreateSiteRequest,
    PatchSiteInverterRequest,
    PatchSiteRequest,
    PutSiteInverterLimitsRequest,
    PutSiteLimitsRequest,
    SiteInverterLimitsResponse,
    SiteInverterResponse,
    SiteLimitsResponse,
    SiteLimitsWrittenResponse,
    SiteListResponse,
    SiteResponse,
)

router = APIRouter(prefix="/api/sites", tags=["sites"])

SiteId = Annotated[
    str,
    Path(
        min_length=1, max_length=128, description="Site id as assigned by the platform (e.g. `DE_AMPN_IMMST_SITE_1`)."
    ),
]
InverterId = Annotated[
    str,
    Path(
        min_length=1, max_length=160, description="Inverter id as assigned by the platform (see the site's inverters)."
    ),
]
From = Annotated[UtcInstant, window_from("start_time")]
To = Annotated[UtcInstant, window_to("start_time")]

NO_SITE = responses((NotFound, "No such site in this company"))
NO_INVERTER = responses((NotFound, "No such site or inverter in this company"))


_SITE = "/api/sites/{site_id}"
_INVERTER = "/api/sites/{site_id}/inverters/{inverter_id}"
_SITE_ID = "$response.body#/id"
# Where a created site's id flows (OpenAPI links of POST /api/sites).
SITE_LINKS = links(
    201,
    GetSite=Link("GET", _SITE, site_id=_SITE_ID),
    PatchSite=Link("PATCH", _SITE, site_id=_SITE_ID),
    DeleteSite=Link("DELETE", _SITE, site_id=_SITE_ID),
    PutSiteLimits=Link("PUT", f"{_SITE}/limits", site_id=_SITE_ID),
    GetSiteLimits=Link("GET", f"{_SITE}/limits", site_id=_SITE_ID),
    ListInverters=Link("GET", f"{_SITE}/inverters", site_id=_SITE_ID),
    CreateInverter=Link("POST", f"{_SITE}/inverters", site_id=_SITE_ID),
)
# Where a created inverter's ids flow (POST /api/sites/{site_id}/inverters).
_INV = {"site_id": "$response.body#/site_id", "inverter_id": "$response.body#/id"}
INVERTER_LINKS = links(
    201,
    GetInverter=Link("GET", _INVERTER, **_INV),
    PatchInverter=Link("PATCH", _INVERTER, **_INV),
    DeleteInverter=Link("DELETE", _INVERTER, **_INV),
    PutInverterLimits=Link("PUT", f"{_INVERTER}/limits", **_INV),
    GetInverterLimits=Link("GET", f"{_INVERTER}/limits", **_INV),
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SiteResponse, openapi_extra=SITE_LINKS)
async def create_site(body: CreateSiteRequest, session: SessionDep, who: Writer) -> SiteResponse:
    """Create a new site record with a system-generated id (e.g. DE_AMPN_IMMST_SITE_1)."""
    return await service.create_site(session, who.company_id, body)


@router.get("", response_model=SiteListResponse)
async def list_sites(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    region: Annotated[Region | None, Query(description="Only sites in this region.")] = None,
    delivery_area: Annotated[DeliveryArea | None, Query(description="Only sites in this delivery area.")] = None,
    asset_id: Annotated[
        str | None, Query(max_length=128, description="Only sites with an inverter serving this asset.")
    ] = None,
    expand: Annotated[
        str | SkipJsonSchema[None],
        Query(
            max_length=200,
            description="Comma-separated; `assets` embeds each inverter's asset master records "
            "(inverters are always embedded).",
            json_schema_extra=explain_values(EXPAND_MEANINGS, enum=True),
        ),
    ] = None,
) -> SiteListResponse:
    """Return the company's sites (ordered by creation), with optional filters."""
    return await service.list_sites(
        session,
        who.company_id,
        region=region.value if region else None,
        delivery_area=delivery_area.value if delivery_area else None,
        asset_id=asset_id,
        expand=expand,
        page=page,
    )


@router.get("/{site_id}", response_model=SiteResponse, responses=NO_SITE)
async def get_site(site_id: SiteId, session: SessionDep, who: Reader) -> SiteResponse:
    """Return a single site record (with its inverters) by site_id."""
    return await service.get_site(session, who.company_id, site_id)


@router.patch("/{site_id}", response_model=SiteResponse, responses=NO_SITE)
async def patch_site(site_id: SiteId, body: PatchSiteRequest, session: SessionDep, who: Writer) -> SiteResponse:
    """Apply a partial update; code, region and delivery_area form the site id and are immutable (422)."""
    return await service.patch_site(session, who.company_id, site_id, body)


@router.delete("/{site_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=NO_SITE)
async def delete_site(site_id: SiteId, session: SessionDep, who: Writer) -> Response:
    """Delete a site with its inverters, PoC limits and inverter limits."""
    await service.delete_site(session, who.company_id, site_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{site_id}/limits", response_model=SiteLimitsResponse, responses=NO_SITE)
async def get_site_limits(
    site_id: SiteId, from_: From, to: To, session: SessionDep, who: Reader, page: PageParams
) -> Any:
    """PoC limit quarter hours with start_time in [from, to) (window at most 31 days), by start_time."""
    return await service.get_site_limits(session, who.company_id, site_id, from_, to, page)


@router.put(
    "/{site_id}/limits", response_model=SiteLimitsWrittenResponse, responses=NO_SITE, max_body_size=LIMITS_BODY_LIMIT
)
async def put_site_limits(
    site_id: SiteId, body: PutSiteLimitsRequest, session: SessionDep, who: Writer
) -> SiteLimitsWrittenResponse:
    """Upsert PoC limits: each period is stored per quarter hour; rows with a matching start_time are
    overwritten, all others are left untouched."""
    return await service.put_site_limits(session, who.company_id, site_id, body)


@router.get("/{site_id}/inverters", response_model=list[SiteInverterResponse], responses=NO_SITE)
async def list_inverters(site_id: SiteId, session: SessionDep, who: Reader) -> list[SiteInverterResponse]:
    """The site's inverters."""
    return await service.list_inverters(session, who.company_id, site_id)


@router.post(
    "/{site_id}/inverters",
    status_code=status.HTTP_201_CREATED,
    response_model=SiteInverterResponse,
    responses=NO_SITE,
    openapi_extra=INVERTER_LINKS,
)
async def create_inverter(
    site_id: SiteId, body: CreateSiteInverterRequest, session: SessionDep, who: Writer
) -> SiteInverterResponse:
    """Add an inverter (id ``<site_id>_INV_<n>``); every asset id must be an asset of this company (else 422)."""
    return await service.create_inverter(session, who.company_id, site_id, body)


@router.get("/{site_id}/inverters/{inverter_id}", response_model=SiteInverterResponse, responses=NO_INVERTER)
async def get_inverter(
    site_id: SiteId, inverter_id: InverterId, session: SessionDep, who: Reader
) -> SiteInverterResponse:
    """One inverter of the site."""
    return await service.get_inverter(session, who.company_id, site_id, inverter_id)


@router.patch("/{site_id}/inverters/{inverter_id}", response_model=SiteInverterResponse, responses=NO_INVERTER)
async def patch_inverter(
    site_id: SiteId, inverter_id: InverterId, body: PatchSiteInverterRequest, session: SessionDep, who: Writer
) -> SiteInverterResponse:
    """Apply a partial update to an inverter; asset_ids, when given, replaces the list."""
    return await service.patch_inverter(session, who.company_id, site_id, inverter_id, body)


@router.delete(
    "/{site_id}/inverters/{inverter_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NO_INVERTER,
)
async def delete_inverter(site_id: SiteId, inverter_id: InverterId, session: SessionDep, who: Writer) -> Response:
    """Delete an inverter and its limits."""
    await service.delete_inverter(session, who.company_id, site_id, inverter_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{site_id}/inverters/{inverter_id}/limits", response_model=SiteInverterLimitsResponse, responses=NO_INVERTER
)
async def get_inverter_limits(
    site_id: SiteId, inverter_id: InverterId, from_: From, to: To, session: SessionDep, who: Reader, page: PageParams
) -> Any:
    """Inverter limit quarter hours with start_time in [from, to) (window at most 7 days), by start_time."""
    return await service.get_inverter_limits(session, who.company_id, site_id, inverter_id, from_, to, page)


@router.put(
    "/{site_id}/inverters/{inverter_id}/limits",
    response_model=SiteLimitsWrittenResponse,
    responses=NO_INVERTER,
    max_body_size=LIMITS_BODY_LIMIT,
)
async def put_inverter_limits(
    site_id: SiteId, inverter_id: InverterId, body: PutSiteInverterLimitsRequest, session: SessionDep, who: Writer
) -> SiteLimitsWrittenResponse:
    """Upsert inverter limits by start_time (per quarter hour); other periods are left untouched."""
    return await service.put_inverter_limits(session, who.company_id, site_id, inverter_id, body)
