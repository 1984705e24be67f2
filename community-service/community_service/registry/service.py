"""Rules of the registry: codes unique per parent and fixed, retiring (cascading, rows kept), residents
who must be members of the company, and an event with the new state for every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import UnitRef
from gridcommons.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gridcommons.pagination import Page

from ..db import replicas
from . import events, repository
from .repository import Lock
from .schemas import (
    ClusterListResponse,
    ClusterResponse,
    CommunityListResponse,
    CommunityResponse,
    CreateClusterRequest,
    CreateCommunityRequest,
    CreateUnitRequest,
    PatchClusterRequest,
    PatchCommunityRequest,
    PatchUnitRequest,
    ResidentListResponse,
    ResidentResponse,
    UnitListResponse,
    UnitResponse,
)


# ----------------------------------------------------------------------------------------------- lookups
async def _community(session: AsyncSession, company_id: int, code: str, lock: Lock = None) -> dict[str, Any]:
    row = await repository.get_community(session, company_id, code, lock)
    if row is None:
        raise NotFound(f"Community {code} not found")
    return row


async def _cluster(
    session: AsyncSession, company_id: int, community_code: str, code: str, lock: Lock = None
) -> dict[str, Any]:
    community = await _community(session, company_id, community_code)
    row = await repository.get_cluster(session, company_id, community["id"], code, lock)
    if row is None:
        raise NotFound(f"Cluster {code} not found in community {community_code}")
    return row


async def _unit(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str, lock: Lock = None
) -> dict[str, Any]:
    cluster = await _cluster(session, company_id, community_code, cluster_code)
    row = await repository.get_unit(session, company_id, cluster["id"], code, lock)
    if row is None:
        raise NotFound(f"Unit {code} not found in cluster {community_code}/{cluster_code}")
    return row


def _refuse_retired(row: dict[str, Any], what: str) -> None:
    if row["retired_at"] is not None:
        raise Conflict(f"{what} is retired: it takes no changes, children or residents")


async def _unit_state(session: AsyncSession, unit_id: int) -> dict[str, Any]:
    return (await repository.unit_states(session, [unit_id]))[0]


async def _cluster_state(session: AsyncSession, cluster_id: int) -> dict[str, Any]:
    return (await repository.cluster_states(session, [cluster_id]))[0]


# ----------------------------------------------------------------------------------------------- communities
async def create_community(session: AsyncSession, company_id: int, body: CreateCommunityRequest) -> CommunityResponse:
    row = await repository.insert_community(session, company_id, body.code, body.name)
    if row is None:
        raise Conflict(f"Community {body.code} already exists (codes of retired communities stay taken)")
    await events.community_changed(session, company_id, row)
    return CommunityResponse.from_row(row)


async def get_community(session: AsyncSession, company_id: int, code: str) -> CommunityResponse:
    return CommunityResponse.from_row(await _community(session, company_id, code))


async def list_communities(
    session: AsyncSession, company_id: int, include_retired: bool, page: Page
) -> CommunityListResponse:
    rows = await repository.list_communities(session, company_id, include_retired, page.limit, page.offset)
    return CommunityListResponse(
        limit=page.limit, offset=page.offset, communities=[CommunityResponse.from_row(r) for r in rows]
    )


async def patch_community(
    session: AsyncSession, company_id: int, code: str, body: PatchCommunityRequest
) -> CommunityResponse:
    """Applies the provided fields; a patch that changes nothing changes no version and publishes nothing."""
    row = await _community(session, company_id, code, "update")
    _refuse_retired(row, f"Community {code}")
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if row[k] != v}
    if not changes:
        return CommunityResponse.from_row(row)
    updated = await repository.update_community(session, row["id"], changes)
    await events.community_changed(session, company_id, updated)
    return CommunityResponse.from_row(updated)


async def retire_community(session: AsyncSession, company_id: int, code: str) -> CommunityResponse:
    """Retires the community with its active clusters and units (rows kept); retiring again changes nothing."""
    row = await _community(session, company_id, code, "update")
    if row["retired_at"] is not None:
        return CommunityResponse.from_row(row)
    updated = await repository.update_community(session, row["id"], {"retired_at": repository.now()})
    cluster_ids = await repository.retire_clusters_of(session, row["id"])
    unit_ids = await repository.retire_units_of(session, community_id=row["id"])
    await events.community_changed(session, company_id, updated)
    await events.clusters_changed(session, company_id, await repository.cluster_states(session, cluster_ids))
    await events.units_changed(session, company_id, await repository.unit_states(session, unit_ids))
    return CommunityResponse.from_row(updated)


# ----------------------------------------------------------------------------------------------- clusters
async def create_cluster(
    session: AsyncSession, company_id: int, community_code: str, body: CreateClusterRequest
) -> ClusterResponse:
    # Shared lock: a concurrent retire of the community waits for this transaction (or happened before).
    community = await _community(session, company_id, community_code, "share")
    _refuse_retired(community, f"Community {community_code}")
    cluster_id = await repository.insert_cluster(session, company_id, community["id"], body.code, body.name)
    if cluster_id is None:
        raise Conflict(f"Cluster {body.code} already exists in community {community_code}")
    state = await _cluster_state(session, cluster_id)
    await events.clusters_changed(session, company_id, [state])
    return ClusterResponse.from_row(state)


async def get_cluster(session: AsyncSession, company_id: int, community_code: str, code: str) -> ClusterResponse:
    return ClusterResponse.from_row(await _cluster(session, company_id, community_code, code))


async def list_clusters(
    session: AsyncSession, company_id: int, community_code: str, include_retired: bool, page: Page
) -> ClusterListResponse:
    community = await _community(session, company_id, community_code)
    rows = await repository.list_clusters(
        session, company_id, community["id"], include_retired, page.limit, page.offset
    )
    return ClusterListResponse(
        limit=page.limit, offset=page.offset, clusters=[ClusterResponse.from_row(r) for r in rows]
    )


async def patch_cluster(
    session: AsyncSession, company_id: int, community_code: str, code: str, body: PatchClusterRequest
) -> ClusterResponse:
    row = await _cluster(session, company_id, community_code, code, "update")
    _refuse_retired(row, f"Cluster {community_code}/{code}")
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if row[k] != v}
    if not changes:
        return ClusterResponse.from_row(row)
    await repository.update_cluster(session, row["id"], changes)
    state = await _cluster_state(session, row["id"])
    await events.clusters_changed(session, company_id, [state])
    return ClusterResponse.from_row(state)


async def retire_cluster(session: AsyncSession, company_id: int, community_code: str, code: str) -> ClusterResponse:
    """Retires the cluster with its active units (rows kept); retiring again changes nothing."""
    row = await _cluster(session, company_id, community_code, code, "update")
    if row["retired_at"] is not None:
        return ClusterResponse.from_row(row)
    await repository.update_cluster(session, row["id"], {"retired_at": repository.now()})
    unit_ids = await repository.retire_units_of(session, cluster_id=row["id"])
    state = await _cluster_state(session, row["id"])
    await events.clusters_changed(session, company_id, [state])
    await events.units_changed(session, company_id, await repository.unit_states(session, unit_ids))
    return ClusterResponse.from_row(state)


# ----------------------------------------------------------------------------------------------- units
def _check_window(available_from: datetime | None, available_to: datetime | None) -> None:
    if available_from is not None and available_to is not None and available_from >= available_to:
        raise ValidationFailed.at(
            ["body", "available_to"], "available_to must be after available_from", available_to.isoformat()
        )


async def create_unit(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, body: CreateUnitRequest
) -> UnitResponse:
    # Shared locks, community first (the order a community's retire takes them): a concurrent retire
    # waits for this transaction, or happened before and is seen.
    await _community(session, company_id, community_code, "share")
    cluster = await _cluster(session, company_id, community_code, cluster_code, "share")
    _refuse_retired(cluster, f"Cluster {community_code}/{cluster_code}")
    _check_window(body.available_from, body.available_to)
    unit_id = await repository.insert_unit(
        session,
        company_id,
        cluster["community_id"],
        cluster["id"],
        body.code,
        body.name,
        body.available_from,
        body.available_to,
    )
    if unit_id is None:
        raise Conflict(f"Unit {body.code} already exists in cluster {community_code}/{cluster_code}")
    state = await _unit_state(session, unit_id)
    await events.units_changed(session, company_id, [state])
    return UnitResponse.from_row(state)


async def get_unit(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str
) -> UnitResponse:
    return UnitResponse.from_row(await _unit(session, company_id, community_code, cluster_code, code))


async def list_units(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, include_retired: bool, page: Page
) -> UnitListResponse:
    cluster = await _cluster(session, company_id, community_code, cluster_code)
    rows = await repository.list_units(session, company_id, cluster["id"], include_retired, page.limit, page.offset)
    return UnitListResponse(limit=page.limit, offset=page.offset, units=[UnitResponse.from_row(r) for r in rows])


async def patch_unit(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str, body: PatchUnitRequest
) -> UnitResponse:
    """Applies the provided fields; the window after the patch must keep from < to (422)."""
    row = await _unit(session, company_id, community_code, cluster_code, code, "update")
    _refuse_retired(row, f"Unit {community_code}/{cluster_code}/{code}")
    provided = body.model_dump(exclude_unset=True)
    merged = {**row, **provided}
    _check_window(merged["available_from"], merged["available_to"])
    changes = {k: v for k, v in provided.items() if row[k] != v}
    if not changes:
        return UnitResponse.from_row(row)
    await repository.update_unit(session, row["id"], changes)
    state = await _unit_state(session, row["id"])
    await events.units_changed(session, company_id, [state])
    return UnitResponse.from_row(state)


async def retire_unit(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str
) -> UnitResponse:
    """Retires the unit (row and resident links kept); retiring again changes nothing."""
    row = await _unit(session, company_id, community_code, cluster_code, code, "update")
    if row["retired_at"] is not None:
        return UnitResponse.from_row(row)
    await repository.update_unit(session, row["id"], {"retired_at": repository.now()})
    state = await _unit_state(session, row["id"])
    await events.units_changed(session, company_id, [state])
    return UnitResponse.from_row(state)


# ----------------------------------------------------------------------------------------------- residents
async def list_residents(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str
) -> ResidentListResponse:
    unit = await _unit(session, company_id, community_code, cluster_code, code)
    rows = await repository.list_residents(session, company_id, unit["id"])
    return ResidentListResponse(residents=[ResidentResponse.from_row(r) for r in rows])


async def link_resident(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str, user_id: int
) -> ResidentResponse:
    """Links a member of the company to the unit (idempotent: linking again changes nothing)."""
    unit = await _unit(session, company_id, community_code, cluster_code, code, "update")
    _refuse_retired(unit, f"Unit {community_code}/{cluster_code}/{code}")
    # The membership replica (from gateway.membership.v1): any role in this company makes a member.
    if await replicas.role(session, company_id, "user", str(user_id)) is None:
        raise ValidationFailed.at(["path", "userId"], f"User {user_id} is not a member of this company", user_id)
    if await repository.link_resident(session, company_id, unit["id"], user_id):
        await repository.touch_unit(session, unit["id"])
        await events.units_changed(session, company_id, [await _unit_state(session, unit["id"])])
    resident = await repository.get_resident(session, company_id, unit["id"], user_id)
    assert resident is not None  # linked in this transaction or before
    return ResidentResponse.from_row(resident)


async def unlink_resident(
    session: AsyncSession, company_id: int, community_code: str, cluster_code: str, code: str, user_id: int
) -> None:
    """Unlinks a resident (also from a retired unit: ending access is always allowed)."""
    unit = await _unit(session, company_id, community_code, cluster_code, code, "update")
    if not await repository.unlink_resident(session, company_id, unit["id"], user_id):
        raise NotFound(f"User {user_id} is not a resident of unit {community_code}/{cluster_code}/{code}")
    await repository.touch_unit(session, unit["id"])
    await events.units_changed(session, company_id, [await _unit_state(session, unit["id"])])


# ----------------------------------------------------------------------------------------------- outlines
async def staff_outline(session: AsyncSession, company_id: int, asof: datetime | None) -> str:
    """The outline's JSON text: every active community, cluster and unit (units available at ``asof``)."""
    return await repository.staff_outline_json(session, company_id, asof)


async def resident_outline(session: AsyncSession, company_id: int, linked: list[UnitRef]) -> str:
    """The outline's JSON text of the caller's active units and their parents; 403 ``resident required``
    when every unit the caller is linked to is retired."""
    active = [u.unit_id for u in linked if not u.retired]
    if not active:
        raise Forbidden("resident required")
    return await repository.resident_outline_json(session, company_id, active)
