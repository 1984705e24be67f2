"""Asset lookups other domains use to validate the asset ids of a request (one query per batch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound

from .models import assets


async def asset_regions(session: AsyncSession, company_id: int, asset_ids: Iterable[str]) -> dict[str, str]:
    """{asset_id: region} for the ids that exist in this company (others are absent)."""
    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(assets.c.id, assets.c.region).where(assets.c.company_id == company_id, assets.c.id.in_(ids))
    )
    return {r.id: r.region for r in rows}


async def missing_asset_ids(session: AsyncSession, company_id: int, asset_ids: Iterable[str]) -> list[str]:
    """The ids (sorted, unique) that are not assets of this company."""
    ids = set(asset_ids)
    found = await asset_regions(session, company_id, ids)
    return sorted(ids - found.keys())


async def asset_regions_or_404(session: AsyncSession, company_id: int, asset_ids: Iterable[str]) -> dict[str, str]:
    """{asset_id: region} of a batch's assets; 404 naming every id (sorted) that is not this company's asset."""
    wanted = set(asset_ids)
    regions = await asset_regions(session, company_id, wanted)
    missing = sorted(wanted - regions.keys())
    if missing:
        raise NotFound(f"Unknown asset ids: {', '.join(missing)}")
    return regions


async def assets_by_id(session: AsyncSession, company_id: int, asset_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{asset_id: asset row} for the ids that exist in this company."""
    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    rows = await session.execute(select(assets).where(assets.c.company_id == company_id, assets.c.id.in_(ids)))
    return {r.id: dict(r._mapping) for r in rows}
