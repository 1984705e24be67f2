"""Rules of the assets domain."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound
from gridcommons.pagination import Page

from . import events, repository
from .schemas import (
    AssetLifecycle,
    AssetListResponse,
    AssetResponse,
    CreateAssetRequest,
)


def asset_id_prefix(region: str, delivery_area: str, code: str) -> str:
    """``<REGION>_<AREA>_<CODE>``; the code upper-cased with '-' folded to '_'."""
    return f"{region}_{delivery_area}_{re.sub(r'[^A-Z0-9_]', '_', code.upper())}"


async def create_asset(session: AsyncSession, company_id: int, body: CreateAssetRequest) -> AssetResponse:
    prefix = asset_id_prefix(body.region.value, body.delivery_area.value, body.code)
    seq = await repository.next_sequence(session, company_id, prefix)
    row = await repository.insert_asset(
        session,
        {
            "company_id": company_id,
            "id": f"{prefix}_{seq}",
            "code": body.code,
            "name": body.name,
            "type": body.type.value,
            "region": body.region.value,
            "delivery_area": body.delivery_area.value,
            "lifecycle": AssetLifecycle.DRAFT.value,
            "provider": body.provider.value,
        },
    )
    asset = AssetResponse.model_validate(row)
    await events.asset_created(session, company_id, asset)
    return asset


async def get_asset(session: AsyncSession, company_id: int, asset_id: str) -> AssetResponse:
    row = await repository.get_asset(session, company_id, asset_id)
    if row is None:
        raise NotFound(f"Asset {asset_id} not found")
    return AssetResponse.model_validate(row)


async def list_assets(
    session: AsyncSession, company_id: int, filters: dict[str, str | None], page: Page
) -> AssetListResponse:
    rows = await repository.list_assets(session, company_id, filters, page.limit, page.offset)
    return AssetListResponse(
        limit=page.limit, offset=page.offset, assets=[AssetResponse.model_validate(r) for r in rows]
    )
