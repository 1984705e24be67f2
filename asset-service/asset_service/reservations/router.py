from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, ValidationFailed, field_error, responses
from gridcommons.pagination import PageParams
from gridcommons.serialization import fast_json
from gridcommons.validation import UtcInstant, split_csv, window_from, window_to

from ..roles import Reader, Writer
from ..validation import AssetIdsQuery
from . import service
from .schemas import (
    ReservationListResponse,
    ReservationQuery,
    ReservationSource,
    UpsertReservationsRequest,
    UpsertReservationsResponse,
)

router = APIRouter(prefix="/api/reservations", tags=["reservations"])

UNKNOWN_ASSET = responses((NotFound, "An asset_id is not an asset of this company"))
SOURCES = ", ".join(s.value for s in ReservationSource)


def markets_param(
    markets: Annotated[
        list[str] | None, Query(description="Only these markets (repeat the parameter or separate with commas).")
    ] = None,
) -> list[str] | None:
    if markets is None:
        return None
    values = split_csv(markets)
    bad = [v for v in values if "\x00" in v or len(v) > 64]
    if bad:
        raise ValidationFailed(
            field_error(["query", "markets"], "malformed market (1..64 characters, no NUL)", v) for v in bad
        )
    return values or None


def sources_param(
    sources: Annotated[
        list[str] | None,
        Query(description=f"Only these sources ({SOURCES}); repeat the parameter or separate with commas."),
    ] = None,
) -> list[ReservationSource] | None:
    if sources is None:
        return None
    values = split_csv(sources)
    bad = [v for v in values if v not in ReservationSource.__members__]
    if bad:
        raise ValidationFailed(
            field_error(["query", "sources"], f"unknown reservation source {v!r}; expected one of {SOURCES}", v)
            for v in bad
        )
    return [ReservationSource(v) for v in values] or None


@router.post("", response_model=UpsertReservationsResponse, responses=UNKNOWN_ASSET)
async def upsert_reservations(body: UpsertReservationsRequest, session: SessionDep, who: Writer) -> Response:
    """Batch upsert 15-minute reservation periods (1..1000) for one or more assets.

    Natural key (asset_id, start_time, market, source): re-submitting a key overwrites every value
    column and updated_at; created_at never changes. Rows not in the payload are left untouched.
    delivery_day is derived from start_time in the asset's region calendar and must not be
    supplied. All or nothing; 404 naming every unknown asset id.
    """
    # The fast path (gridcommons.serialization): 1,000 rows formatted once, shared with the events.
    return fast_json(await service.upsert_reservations(session, who.company_id, body))


@router.get("", response_model=ReservationListResponse)
async def list_reservations(
    session: SessionDep,
    who: Reader,
    page: PageParams,
    asset_ids: AssetIdsQuery,
    from_: Annotated[UtcInstant, window_from("start_time")],
    to: Annotated[UtcInstant, window_to("start_time")],
    markets: Annotated[list[str] | None, Depends(markets_param)],
    sources: Annotated[list[ReservationSource] | None, Depends(sources_param)],
) -> dict[str, Any]:
    """Reservation periods with start_time in [from, to), ordered by (asset_id, start_time, market, source)."""
    query = ReservationQuery(asset_ids=asset_ids, start=from_, end=to, markets=markets, sources=sources)
    return await service.list_reservations(session, who.company_id, query, page)
