from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, responses
from gridcommons.openapi_links import Link, links
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant

from ..roles import Reader, Writer
from ..validation import AssetIdsQuery
from . import service
from .schemas import SpecListResponse, SpecResponse, UpsertSpecRequest

router = APIRouter(prefix="/api/specs", tags=["specs"])

NOT_FOUND = responses((NotFound, "No such asset in this company"))


SPEC_LINKS = links(
    200,
    ListSpecs=Link("GET", "/api/specs", asset_ids="$response.body#/asset_id"),
    GetAsset=Link("GET", "/api/assets/{asset_id}", asset_id="$response.body#/asset_id"),
)


@router.put("", response_model=SpecResponse, responses=NOT_FOUND, openapi_extra=SPEC_LINKS)
async def upsert_spec(body: UpsertSpecRequest, session: SessionDep, who: Writer) -> SpecResponse:
    """Upsert a versioned technical spec for one asset.

    The natural key is (asset_id, valid_from). Re-submitting the same key applies a partial update
    (omitted fields keep their value). A new BESS version (valid_to omitted/null) closes the active
    open-ended version and must start strictly after it; a vBat version (explicit valid_to) must not
    overlap any other version (PostgreSQL EXCLUDE constraint). 404 for an unknown asset, 422 when the
    BESS ordering or the vBat overlap rule is violated.
    """
    return await service.upsert_spec(session, who.company_id, body)


@router.get("", response_model=SpecListResponse)
async def list_specs(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    latest: Annotated[
        bool, Query(description="true: only the latest version per asset (greatest valid_from in the window).")
    ] = False,
    from_: Annotated[
        UtcInstant | None,
        Query(alias="from", description="Inclusive lower bound on valid_from: ISO 8601 instant with offset."),
    ] = None,
    to: Annotated[
        UtcInstant | None, Query(description="Upper bound on valid_from: ISO 8601 instant with offset.")
    ] = None,
) -> SpecListResponse:
    """Return paginated spec versions, ordered by (asset_id, valid_from DESC).

    latest=true collapses to one row per asset (the greatest valid_from in the window, if any).
    from/to bound valid_from inclusively; their span is capped at 31 days (one given alone spans
    31 days from/to it). Unknown asset ids yield no rows.
    """
    return await service.list_specs(session, who.company_id, asset_ids, latest, from_, to, page)
