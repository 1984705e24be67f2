"""Asset lookups other domains use to validate the asset ids of a request (one query per batch).

Write paths pass ``lock=True``: the found assets are locked ``FOR KEY SHARE`` (in id order) until the
transaction ends, so a concurrent ``DELETE`` of one of them waits for the write to commit (and then
cascades to the new rows) or, if it committed first, the asset is simply not found (a clean 404/422).
Without the lock the check and the insert race: the asset passes the check, is deleted, and the
insert fails its foreign key. The lock does not block other writers of rows that reference the asset
nor updates of the asset's non-key columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound

from .models import assets


def _locked(stmt: Select[Any], lock: bool) -> Select[Any]:
    return stmt.order_by(assets.c.id).with_for_update(read=True, key_share=True) if lock else stmt


async def asset_regions(
    session: AsyncSession, company_id: int, asset_ids: Iterable[str], *, lock: bool = False
) -> dict[str, str]:
    """{asset_id: region} for the ids that exist in this company (others are absent); ``lock``: see above."""
    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    stmt = select(assets.c.id, assets.c.region).where(assets.c.company_id == company_id, assets.c.id.in_(ids))
    rows = await session.execute(_locked(stmt, lock))
    return {r.id: r.region for r in rows}


async def missing_asset_ids(
    session: AsyncSession, company_id: int, asset_ids: Iterable[str], *, lock: bool = False
) -> list[str]:
    """The ids (sorted, unique) that are not assets of this company; ``lock``: the others are locked."""
    ids = set(asset_ids)
    found = await asset_regions(session, company_id, ids, lock=lock)
    return sorted(ids - found.keys())


async def asset_regions_or_404(
    session: AsyncSession, company_id: int, asset_ids: Iterable[str], *, lock: bool = False
) -> dict[str, str]:
    """{asset_id: region} of a batch's assets; 404 naming every id (sorted) that is not this company's asset."""
    wanted = set(asset_ids)
    regions = await asset_regions(session, company_id, wanted, lock=lock)
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
