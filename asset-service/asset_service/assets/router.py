from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from gridcommons.db import SessionDep
from gridcommons.identity import Identity, require_roles
from gridcommons.pagination import PageParams

from . import service
from .schemas import (
    AssetLifecycle,
    AssetListResponse,
    AssetResponse,
    AssetType,
    CreateAssetRequest,
    DeliveryArea,
    Provider,
    Region,
)

router = APIRouter(prefix="/api/assets", tags=["assets"])

Writer = Annotated[Identity, require_roles("admin", "operator")]
Reader = Annotated[Identity, require_roles("admin", "operator", "member")]
AssetId = Annotated[str, Path(min_length=1, max_length=128)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such asset in this company"}}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AssetResponse)
async def create_asset(body: CreateAssetRequest, session: SessionDep, who: Writer) -> AssetResponse:
    """Create a new asset master record (lifecycle DRAFT, system-generated id)."""
    assert who.company_id is not None
    return await service.create_asset(session, who.company_id, body)


@router.get("", response_model=AssetListResponse)
async def list_assets(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    type: AssetType | None = None,
    region: Region | None = None,
    lifecycle: AssetLifecycle | None = None,
    delivery_area: DeliveryArea | None = None,
    provider: Provider | None = None,
) -> AssetListResponse:
    """Return the company's asset master records, with optional filters."""
    assert who.company_id is not None
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
    assert who.company_id is not None
    return await service.get_asset(session, who.company_id, asset_id)
