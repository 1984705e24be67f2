"""Period limits: PATCH (batch partial upsert, expanded to 15-minute rows), GET, DELETE on /api/limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, responses
from gridcommons.serialization import fast_json

from ..roles import Reader, Writer
from . import service
from .schemas import (
    DeleteLimitsQuery,
    DeleteLimitsResponse,
    LimitsPage,
    LimitsQuery,
    PatchLimitsRequest,
    PatchLimitsResponse,
)

router = APIRouter(prefix="/api/limits", tags=["limits"])

NOT_FOUND = responses((NotFound, "An asset_id is not an asset of this company (every missing id is named)"))


@router.patch("", response_model=PatchLimitsResponse, responses=NOT_FOUND)
async def patch_limits(body: PatchLimitsRequest, session: SessionDep, who: Writer) -> PatchLimitsResponse:
    """Batch partial-update period limits for one or more assets.

    Each entry is expanded server-side into 15-minute rows (absolute `[start_time, end_time)`, or a
    recurrent UTC time-of-day window on every day of `[valid_from, valid_until]`); `delivery_day` is
    derived from each row's start_time in the asset's region calendar. On conflict on
    (asset_id, start_time, source) a null field keeps the stored value; `trading_locked=false`
    clears a lock; end_time, delivery_day and updated_at always overwrite; created_at never changes.
    All or nothing; 404 naming every unknown asset_id.
    """
    written = await service.patch_limits(session, who.company_id, body)
    return PatchLimitsResponse(rows=sum(w.rows for w in written), assets=written)


@router.get("", response_model=LimitsPage)
async def get_limits(query: Annotated[LimitsQuery, Query()], session: SessionDep, who: Reader) -> Response:
    """Return paginated period limits for one or more assets, grouped by (asset_id, start_time).

    Periods with start_time in `[from, to)`, ordered by asset_id then start_time; each carries the
    per-source rows and the computed most-restrictive limits: power_charge (max), power_discharge
    (min), energy_low (max), energy_high (min), trading_locked (any). Unknown asset ids give no rows.
    """
    # The JSON comes ready-made from PostgreSQL (see repository._PAGE), in LimitsPage's shape: the fast path.
    return fast_json(await service.read_limits(session, who.company_id, query))


@router.delete("", response_model=DeleteLimitsResponse, responses=NOT_FOUND)
async def delete_limits(
    query: Annotated[DeleteLimitsQuery, Query()], session: SessionDep, who: Writer
) -> DeleteLimitsResponse:
    """Clear a source's constraint contributions for periods with start_time in `[start_time, end_time)`.

    power_charge, power_discharge, energy_low and energy_high become null; trading_locked is kept;
    rows left empty (no constraint and trading_locked not true) are removed.
    """
    return await service.clear_limits(session, who.company_id, query)
