"""Rules of the assets domain."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, NotFound, ValidationFailed
from gridcommons.pagination import Page

from . import events, repository
from .schemas import (
    DELETABLE,
    TRANSITIONS,
    AssetLifecycle,
    AssetListResponse,
    AssetResponse,
    CreateAssetRequest,
    DeliveryArea,
    LifecycleAction,
    PatchAssetRequest,
    Region,
)


def asset_id_prefix(region: str, delivery_area: str, code: str) -> str:
    """``<REGION>_<AREA>_<CODE>``; the code upper-cased with '-' folded to '_'."""
    return f"{region}_{delivery_area}_{re.sub(r'[^A-Z0-9_]', '_', code.upper())}"


# Which delivery areas belong to which region (an asset or a site in DE cannot sit in PSE).
REGION_AREAS: dict[Region, frozenset[DeliveryArea]] = {
    Region.DE: frozenset({DeliveryArea.HZ50, DeliveryArea.AMPN, DeliveryArea.TNBW, DeliveryArea.TNNT}),
    Region.PL: frozenset({DeliveryArea.PSE}),
}


def check_area_in_region(region: Region, area: DeliveryArea) -> None:
    """422 (``["body", "delivery_area"]``) unless the delivery area belongs to the region."""
    if area not in REGION_AREAS[region]:
        raise ValidationFailed.at(
            ["body", "delivery_area"], f"delivery_area {area.value} is not in region {region.value}", area.value
        )


async def create_asset(session: AsyncSession, company_id: int, body: CreateAssetRequest) -> AssetResponse:
    check_area_in_region(body.region, body.delivery_area)
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
    asset = AssetResponse.from_row(row)
    await events.asset_created(session, company_id, asset)
    return asset


async def get_asset(session: AsyncSession, company_id: int, asset_id: str) -> AssetResponse:
    row = await repository.get_asset(session, company_id, asset_id)
    if row is None:
        raise NotFound(f"Asset {asset_id} not found")
    return AssetResponse.from_row(row)


async def list_assets(
    session: AsyncSession, company_id: int, filters: dict[str, str | None], page: Page
) -> AssetListResponse:
    rows = await repository.list_assets(session, company_id, filters, page.limit, page.offset)
    return AssetListResponse(limit=page.limit, offset=page.offset, assets=[AssetResponse.from_row(r) for r in rows])


def _not_found(asset_id: str) -> NotFound:
    return NotFound(f"Asset {asset_id} not found")


async def patch_asset(session: AsyncSession, company_id: int, asset_id: str, body: PatchAssetRequest) -> AssetResponse:
    """Applies the provided fields; a patch that changes nothing leaves updated_at alone and publishes nothing."""
    row = await repository.lock_asset(session, company_id, asset_id)
    if row is None:
        raise _not_found(asset_id)
    provided: dict[str, Any] = {
        k: (v.value if isinstance(v, Enum) else v) for k, v in body.model_dump(exclude_unset=True).items()
    }
    changes = {k: v for k, v in provided.items() if row[k] != v}
    if not changes:
        return AssetResponse.from_row(row)
    updated = await repository.update_asset(session, company_id, asset_id, changes)
    assert updated is not None  # the row is locked
    asset = AssetResponse.from_row(updated)
    await events.asset_updated(session, company_id, asset)
    return asset


async def delete_asset(session: AsyncSession, company_id: int, asset_id: str) -> None:
    row = await repository.delete_asset(session, company_id, asset_id, [lc.value for lc in DELETABLE])
    if row is None:
        current = await repository.get_asset(session, company_id, asset_id)
        if current is None:
            raise _not_found(asset_id)
        raise Conflict(
            f"Asset {asset_id} is {current['lifecycle']}: only DRAFT or DECOMMISSIONED assets can be deleted"
        )
    await events.asset_deleted(session, company_id, AssetResponse.from_row(row))


async def apply_action(session: AsyncSession, company_id: int, asset_id: str, action: LifecycleAction) -> AssetResponse:
    expected, new = TRANSITIONS[action]
    row = await repository.transition(
        session,
        company_id,
        asset_id,
        expected.value,
        new.value,
        set_go_live=action is LifecycleAction.GO_LIVE,
    )
    if row is None:
        current = await repository.get_asset(session, company_id, asset_id)
        if current is None:
            raise _not_found(asset_id)
        raise Conflict(
            f"Cannot {action.value} asset {asset_id}: it is {current['lifecycle']}, "
            f"{action.value} requires {expected.value}"
        )
    asset = AssetResponse.from_row(row)
    await events.lifecycle_changed(session, company_id, asset, action, expected, new)
    return asset
