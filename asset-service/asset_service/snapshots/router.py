from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gridcommons.db import SessionDep
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant, window_from, window_to

from ..roles import Reader, Writer
from ..validation import AssetIdsQuery
from . import service
from .schemas import BODY_LIMIT, StateSnapshotListResponse, UpsertStateSnapshotsRequest, UpsertStateSnapshotsResponse

router = APIRouter(prefix="/api/state-snapshots", tags=["state snapshots"])


@router.post("", response_model=UpsertStateSnapshotsResponse, max_body_size=BODY_LIMIT)
async def upsert_state_snapshots(body: UpsertStateSnapshotsRequest, session: SessionDep, who: Writer) -> dict[str, Any]:
    """Batch upsert state snapshots for one or more assets (all or nothing).

    On conflict on (asset_id, effective_at) the energy fields (stored_energy, reading_quality) and
    updated_at are overwritten; created_at never changes. 422 identifying every unknown asset id.
    """
    return await service.upsert_snapshots(session, who.company_id, body)


@router.get("", response_model=StateSnapshotListResponse)
async def read_state_snapshots(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    latest: Annotated[bool, Query(description="The single most recent snapshot per asset.")] = False,
    from_: Annotated[UtcInstant | None, window_from("effective_at")] = None,
    to: Annotated[UtcInstant | None, window_to("effective_at", "; default now")] = None,
) -> dict[str, Any]:
    """State snapshots with derived charged/discharged energy.

    Latest mode (latest=true): the single most recent snapshot per asset, ordered by asset_id;
    cannot be combined with from or to. Time-range mode (default): snapshots with effective_at in
    [from, to), ordered by effective_at (then asset_id), paginated; to defaults to now. Unknown
    asset ids give an empty list.
    """
    return await service.read_snapshots(
        session, who.company_id, asset_ids, latest=latest, start=from_, end=to, page=page
    )
