from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from gridcommons.community import STAFF_ROLES, Resident
from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, Forbidden, NotFound, ValidationFailed, responses
from gridcommons.identity import TenantDep, TenantIdentity, require_roles
from gridcommons.openapi_links import Link, links
from gridcommons.pagination import PageParams
from gridcommons.serialization import fast_json

from . import service
from .schemas import (
    AsOf,
    ClusterCode,
    ClusterListResponse,
    ClusterResponse,
    CommunityCode,
    CommunityListResponse,
    CommunityResponse,
    CreateClusterRequest,
    CreateCommunityRequest,
    CreateUnitRequest,
    IncludeRetired,
    OutlineResponse,
    PatchClusterRequest,
    PatchCommunityRequest,
    PatchUnitRequest,
    ResidentListResponse,
    ResidentResponse,
    UnitCode,
    UnitListResponse,
    UnitResponse,
    UserIdPath,
)

# Management of the registry: the company's admins and operators.
Manager = Annotated[TenantIdentity, require_roles(*STAFF_ROLES)]

_COMMUNITIES = "/api/community/communities"
_COMMUNITY = _COMMUNITIES + "/{communityId}"
_CLUSTERS = _COMMUNITY + "/clusters"
_CLUSTER = _CLUSTERS + "/{clusterId}"
_UNITS = _CLUSTER + "/units"
_UNIT = _UNITS + "/{unitId}"
_RESIDENTS = _UNIT + "/residents"

communities_router = APIRouter(tags=["communities"])
clusters_router = APIRouter(tags=["clusters"])
units_router = APIRouter(tags=["units"])
residents_router = APIRouter(tags=["unit residents"])
outline_router = APIRouter(tags=["community outline"])

NO_COMMUNITY = responses((NotFound, "No such community in this company"))
NO_CLUSTER = responses((NotFound, "No such community or cluster in this company"))
NO_UNIT = responses((NotFound, "No such community, cluster or unit in this company"))
DUPLICATE = responses((Conflict, "The code is taken in the parent, or the parent is retired"))
RETIRED = responses((Conflict, "The record is retired: it takes no changes"))
INVALID = responses(ValidationFailed)

_C = {"communityId": "$response.body#/code"}
COMMUNITY_LINKS = links(
    201,
    GetCommunity=Link("GET", _COMMUNITY, **_C),
    PatchCommunity=Link("PATCH", _COMMUNITY, **_C),
    RetireCommunity=Link("POST", _COMMUNITY + "/retire", **_C),
    CreateCluster=Link("POST", _CLUSTERS, **_C),
)
_K = {"communityId": "$response.body#/community_code", "clusterId": "$response.body#/code"}
CLUSTER_LINKS = links(
    201,
    GetCluster=Link("GET", _CLUSTER, **_K),
    PatchCluster=Link("PATCH", _CLUSTER, **_K),
    RetireCluster=Link("POST", _CLUSTER + "/retire", **_K),
    CreateUnit=Link("POST", _UNITS, **_K),
)
_U = {
    "communityId": "$response.body#/community_code",
    "clusterId": "$response.body#/cluster_code",
    "unitId": "$response.body#/code",
}
UNIT_LINKS = links(
    201,
    GetUnit=Link("GET", _UNIT, **_U),
    PatchUnit=Link("PATCH", _UNIT, **_U),
    RetireUnit=Link("POST", _UNIT + "/retire", **_U),
    ListResidents=Link("GET", _RESIDENTS, **_U),
)


# ----------------------------------------------------------------------------------------------- communities
@communities_router.post(
    _COMMUNITIES,
    status_code=status.HTTP_201_CREATED,
    response_model=CommunityResponse,
    responses=DUPLICATE,
    openapi_extra=COMMUNITY_LINKS,
)
async def create_community(body: CreateCommunityRequest, session: SessionDep, who: Manager) -> CommunityResponse:
    """Create a community (its code is unique in the company and never changes; 409 if taken)."""
    return await service.create_community(session, who.company_id, body)


@communities_router.get(_COMMUNITIES, response_model=CommunityListResponse)
async def list_communities(
    session: SessionDep, who: Manager, page: PageParams, include_retired: IncludeRetired = False
) -> CommunityListResponse:
    """The company's communities, ordered by code (retired ones only with `include_retired=true`)."""
    return await service.list_communities(session, who.company_id, include_retired, page)


@communities_router.get(_COMMUNITY, response_model=CommunityResponse, responses=NO_COMMUNITY)
async def get_community(community_id: CommunityCode, session: SessionDep, who: Manager) -> CommunityResponse:
    """One community by code (retired ones too)."""
    return await service.get_community(session, who.company_id, community_id)


@communities_router.patch(_COMMUNITY, response_model=CommunityResponse, responses=NO_COMMUNITY | RETIRED)
async def patch_community(
    community_id: CommunityCode, body: PatchCommunityRequest, session: SessionDep, who: Manager
) -> CommunityResponse:
    """Rename a community (omitted fields are kept; a retired community is a 409)."""
    return await service.patch_community(session, who.company_id, community_id, body)


@communities_router.post(_COMMUNITY + "/retire", response_model=CommunityResponse, responses=NO_COMMUNITY)
async def retire_community(community_id: CommunityCode, session: SessionDep, who: Manager) -> CommunityResponse:
    """Retire a community with every active cluster and unit in it. The rows stay (readable by code, codes
    stay taken); they leave lists and outlines and take no new children or residents. Retiring a retired
    community answers it unchanged."""
    return await service.retire_community(session, who.company_id, community_id)


# ----------------------------------------------------------------------------------------------- clusters
@clusters_router.post(
    _CLUSTERS,
    status_code=status.HTTP_201_CREATED,
    response_model=ClusterResponse,
    responses=NO_COMMUNITY | DUPLICATE,
    openapi_extra=CLUSTER_LINKS,
)
async def create_cluster(
    community_id: CommunityCode, body: CreateClusterRequest, session: SessionDep, who: Manager
) -> ClusterResponse:
    """Create a cluster in a community (code unique in the community; 409 if taken or the community is retired)."""
    return await service.create_cluster(session, who.company_id, community_id, body)


@clusters_router.get(_CLUSTERS, response_model=ClusterListResponse, responses=NO_COMMUNITY)
async def list_clusters(
    community_id: CommunityCode,
    session: SessionDep,
    who: Manager,
    page: PageParams,
    include_retired: IncludeRetired = False,
) -> ClusterListResponse:
    """The community's clusters, ordered by code (retired ones only with `include_retired=true`)."""
    return await service.list_clusters(session, who.company_id, community_id, include_retired, page)


@clusters_router.get(_CLUSTER, response_model=ClusterResponse, responses=NO_CLUSTER)
async def get_cluster(
    community_id: CommunityCode, cluster_id: ClusterCode, session: SessionDep, who: Manager
) -> ClusterResponse:
    """One cluster by its community's code and its own (retired ones too)."""
    return await service.get_cluster(session, who.company_id, community_id, cluster_id)


@clusters_router.patch(_CLUSTER, response_model=ClusterResponse, responses=NO_CLUSTER | RETIRED)
async def patch_cluster(
    community_id: CommunityCode, cluster_id: ClusterCode, body: PatchClusterRequest, session: SessionDep, who: Manager
) -> ClusterResponse:
    """Rename a cluster (omitted fields are kept; a retired cluster is a 409)."""
    return await service.patch_cluster(session, who.company_id, community_id, cluster_id, body)


@clusters_router.post(_CLUSTER + "/retire", response_model=ClusterResponse, responses=NO_CLUSTER)
async def retire_cluster(
    community_id: CommunityCode, cluster_id: ClusterCode, session: SessionDep, who: Manager
) -> ClusterResponse:
    """Retire a cluster with every active unit in it (rows kept; see retiring a community)."""
    return await service.retire_cluster(session, who.company_id, community_id, cluster_id)


# ----------------------------------------------------------------------------------------------- units
@units_router.post(
    _UNITS,
    status_code=status.HTTP_201_CREATED,
    response_model=UnitResponse,
    responses=NO_CLUSTER | DUPLICATE | INVALID,
    openapi_extra=UNIT_LINKS,
)
async def create_unit(
    community_id: CommunityCode, cluster_id: ClusterCode, body: CreateUnitRequest, session: SessionDep, who: Manager
) -> UnitResponse:
    """Create a unit in a cluster, with an optional availability window (`available_from` before
    `available_to`); code unique in the cluster (409 if taken or the cluster is retired)."""
    return await service.create_unit(session, who.company_id, community_id, cluster_id, body)


@units_router.get(_UNITS, response_model=UnitListResponse, responses=NO_CLUSTER)
async def list_units(
    community_id: CommunityCode,
    cluster_id: ClusterCode,
    session: SessionDep,
    who: Manager,
    page: PageParams,
    include_retired: IncludeRetired = False,
) -> UnitListResponse:
    """The cluster's units, ordered by code (retired ones only with `include_retired=true`)."""
    return await service.list_units(session, who.company_id, community_id, cluster_id, include_retired, page)


@units_router.get(_UNIT, response_model=UnitResponse, responses=NO_UNIT)
async def get_unit(
    community_id: CommunityCode, cluster_id: ClusterCode, unit_id: UnitCode, session: SessionDep, who: Manager
) -> UnitResponse:
    """One unit by its community's, cluster's and own code (retired ones too)."""
    return await service.get_unit(session, who.company_id, community_id, cluster_id, unit_id)


@units_router.patch(_UNIT, response_model=UnitResponse, responses=NO_UNIT | RETIRED | INVALID)
async def patch_unit(
    community_id: CommunityCode,
    cluster_id: ClusterCode,
    unit_id: UnitCode,
    body: PatchUnitRequest,
    session: SessionDep,
    who: Manager,
) -> UnitResponse:
    """Rename a unit or change its availability window (null clears a bound; the window after the change
    must keep `available_from` before `available_to`, 422 otherwise; a retired unit is a 409)."""
    return await service.patch_unit(session, who.company_id, community_id, cluster_id, unit_id, body)


@units_router.post(_UNIT + "/retire", response_model=UnitResponse, responses=NO_UNIT)
async def retire_unit(
    community_id: CommunityCode, cluster_id: ClusterCode, unit_id: UnitCode, session: SessionDep, who: Manager
) -> UnitResponse:
    """Retire a unit (row and resident links kept: its residents no longer see it in their outline)."""
    return await service.retire_unit(session, who.company_id, community_id, cluster_id, unit_id)


# ----------------------------------------------------------------------------------------------- residents
@residents_router.get(_RESIDENTS, response_model=ResidentListResponse, responses=NO_UNIT)
async def list_residents(
    community_id: CommunityCode, cluster_id: ClusterCode, unit_id: UnitCode, session: SessionDep, who: Manager
) -> ResidentListResponse:
    """The members linked to the unit (its residents), ordered by user id."""
    return await service.list_residents(session, who.company_id, community_id, cluster_id, unit_id)


@residents_router.put(
    _RESIDENTS + "/{userId}",
    response_model=ResidentResponse,
    responses=NO_UNIT | responses((Conflict, "The unit is retired")) | INVALID,
)
async def link_resident(
    community_id: CommunityCode,
    cluster_id: ClusterCode,
    unit_id: UnitCode,
    user_id: UserIdPath,
    session: SessionDep,
    who: Manager,
) -> ResidentResponse:
    """Link a member of the company to the unit, making them its resident (idempotent). A user who is not
    a member of the company is a 422 naming them."""
    return await service.link_resident(session, who.company_id, community_id, cluster_id, unit_id, user_id)


@residents_router.delete(
    _RESIDENTS + "/{userId}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses((NotFound, "No such unit in this company, or the user is not its resident")),
)
async def unlink_resident(
    community_id: CommunityCode,
    cluster_id: ClusterCode,
    unit_id: UnitCode,
    user_id: UserIdPath,
    session: SessionDep,
    who: Manager,
) -> Response:
    """Unlink a resident from the unit (also from a retired unit)."""
    await service.unlink_resident(session, who.company_id, community_id, cluster_id, unit_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------------------------------------- outlines
async def _staff(identity: TenantDep) -> TenantIdentity:
    if not identity.has_any(*STAFF_ROLES):
        raise Forbidden("staff required")
    return identity


Staff = Annotated[TenantIdentity, Depends(_staff)]


@outline_router.get(
    "/api/staff/community/outline",
    response_model=OutlineResponse,
    responses=responses((Forbidden, "`staff required`: the caller is neither admin nor operator")),
)
async def staff_outline(session: SessionDep, who: Staff, asof: AsOf = None) -> Response:
    """Communities → clusters → units of the company, each level keyed by code in code order; empty
    communities and clusters included; retired records left out. With `asof`, only the units available
    at that instant."""
    return fast_json(await service.staff_outline(session, who.company_id, asof))


@outline_router.get(
    "/api/resident/community/outline",
    response_model=OutlineResponse,
    responses=responses((Forbidden, "`resident required`: the caller is linked to no active unit")),
)
async def resident_outline(session: SessionDep, who: TenantDep, units: Resident) -> Response:
    """The staff outline's shape, holding only the caller's units (the active units they are linked to)
    and the clusters and communities that contain them."""
    return fast_json(await service.resident_outline(session, who.company_id, units))
