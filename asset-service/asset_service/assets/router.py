from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, NotFound, responses
from gridcommons.openapi_links import Link, links
from gridcommons.pagination import PageParams

from ..roles import Reader, Writer
from ..validation import AssetIdPath
from . import service
from .schemas import (
    TRANSITIONS,
    AssetLifecycle,
    AssetListResponse,
    AssetResponse,
    AssetType,
    CreateAssetRequest,
    DeliveryArea,
    LifecycleAction,
    PatchAssetRequest,
    Provider,
    Region,
)

router = APIRouter(prefix="/api/assets", tags=["assets"])
# The lifecycle actions have their own tag (one tag per operation).
lifecycle_router = APIRouter(prefix="/api/assets", tags=["asset lifecycle"])

AssetId = AssetIdPath

NOT_FOUND = responses((NotFound, "No such asset in this company"))
CONFLICT = responses((Conflict, "The asset's lifecycle does not allow this operation (detail says why)"))


_ASSET = "/api/assets/{asset_id}"
# Where a created asset's id flows (OpenAPI links of POST /api/assets).
ASSET_LINKS = links(
    201,
    GetAsset=Link("GET", _ASSET, asset_id="$response.body#/id"),
    PatchAsset=Link("PATCH", _ASSET, asset_id="$response.body#/id"),
    DeleteAsset=Link("DELETE", _ASSET, asset_id="$response.body#/id"),
    **{
        f"{action.name.title().replace('_', '')}Asset": Link(
            "POST", f"{_ASSET}/actions/{action.value}", asset_id="$response.body#/id"
        )
        for action in LifecycleAction
    },
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AssetResponse, openapi_extra=ASSET_LINKS)
async def create_asset(body: CreateAssetRequest, session: SessionDep, who: Writer) -> AssetResponse:
    """Create a new asset master record (lifecycle DRAFT, system-generated id)."""
    return await service.create_asset(session, who.company_id, body)


@router.get("", response_model=AssetListResponse)
async def list_assets(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    type: Annotated[AssetType | None, Query(description="Only assets of this type.")] = None,
    region: Annotated[Region | None, Query(description="Only assets in this region.")] = None,
    lifecycle: Annotated[AssetLifecycle | None, Query(description="Only assets in this lifecycle state.")] = None,
    delivery_area: Annotated[DeliveryArea | None, Query(description="Only assets in this delivery area.")] = None,
    provider: Annotated[Provider | None, Query(description="Only assets of this provider.")] = None,
) -> AssetListResponse:
    """Return the company's asset master records, with optional filters."""
    filters = {
        "type": type,
        "region": region,
        "lifecycle": lifecycle,
        "delivery_area": delivery_area,
        "provider": provider,
    }
    return await service.list_assets(
        session, who.company_id, {k: (v.value if v else None) for k, v in filters.items()}, page
    )


@router.get("/{asset_id}", response_model=AssetResponse, responses=NOT_FOUND)
async def get_asset(asset_id: AssetId, session: SessionDep, who: Reader) -> AssetResponse:
    """Return a single asset master record by asset_id."""
    return await service.get_asset(session, who.company_id, asset_id)


@router.patch("/{asset_id}", response_model=AssetResponse, responses=NOT_FOUND)
async def patch_asset(asset_id: AssetId, body: PatchAssetRequest, session: SessionDep, who: Writer) -> AssetResponse:
    """Apply a partial update to an asset master record.

    Only provided fields are applied (`name`, `type`, `go_live_date`, `provider`); `go_live_date: null`
    clears the date. Lifecycle transitions use the asset-actions endpoints; `code`, `region` and
    `delivery_area` form the asset id and cannot change (422)."""
    return await service.patch_asset(session, who.company_id, asset_id, body)


@router.delete(
    "/{asset_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=NOT_FOUND | CONFLICT
)
async def delete_asset(asset_id: AssetId, session: SessionDep, who: Writer) -> Response:
    """Delete an asset master record, with every row that depends on it (statuses, dispatches, limits, ...).

    Only permitted for assets in the DRAFT or DECOMMISSIONED lifecycle state (409 otherwise)."""
    await service.delete_asset(session, who.company_id, asset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _action_route(action: LifecycleAction) -> None:
    expected, new = TRANSITIONS[action]
    extra = " Sets go_live_date to today (UTC) if it is not already set." if action is LifecycleAction.GO_LIVE else ""

    async def endpoint(asset_id: AssetId, session: SessionDep, who: Writer) -> AssetResponse:
        return await service.apply_action(session, who.company_id, asset_id, action)

    endpoint.__name__ = f"{action.value.replace('-', '_')}_asset"
    lifecycle_router.add_api_route(
        f"/{{asset_id}}/actions/{action.value}",
        endpoint,
        methods=["POST"],
        response_model=AssetResponse,
        responses=NOT_FOUND | CONFLICT,
        summary=f"{action.value.replace('-', ' ').capitalize()} an asset ({expected.value} → {new.value})",
        description=f"Transition the asset from {expected.value} to {new.value}.{extra} "
        f"Any other current lifecycle is a 409 and changes nothing.",
    )


for _action in LifecycleAction:
    _action_route(_action)
