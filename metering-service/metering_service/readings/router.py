from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from gridcommons.db import SessionDep
from gridcommons.errors import ValidationFailed, responses
from gridcommons.openapi import INGESTION_TAG
from gridcommons.pagination import PageParams
from gridcommons.validation import UtcInstant

from ..roles import Ingestor
from ..rollups import service as rollups
from ..rollups.schemas import Resolution
from ..series import service as series_service
from ..series.access import Reader
from ..series.router import FORBIDDEN, NOT_FOUND, SeriesIdPath
from . import service
from .parsing import BatchTooLarge, UnsupportedMediaType, parse_body
from .schemas import MAX_BATCH, IngestReadingsResponse, ReadingListResponse

router = APIRouter(tags=["readings"])
# The ingestion door is listed under the shared ingestion tag only (one tag per operation).
ingest_router = APIRouter(tags=[INGESTION_TAG["name"]])

# 100,000 readings addressed by external keys of a few dozen characters stay under it.
INGEST_BODY_LIMIT = 32 * 1024 * 1024


INGEST_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The batch as JSON (below), or the same readings as NDJSON (`application/x-ndjson`: one "
        "reading object per line) or CSV (`text/csv`: a header line naming the columns `series_id` or "
        "`external_key`, `time`, `value` and optionally `quality` and `unit`; empty cells are omitted fields).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReadingsRequest"}}},
    }
}


@ingest_router.post(
    "/api/ingest/meter-readings",
    response_model=IngestReadingsResponse,
    responses=responses(
        ValidationFailed,
        (BatchTooLarge, f"More than {MAX_BATCH:,} readings, or a body over 32 MiB"),
        (UnsupportedMediaType, "Content type other than application/json, application/x-ndjson or text/csv"),
    ),
    openapi_extra=INGEST_REQUEST_BODY,
    max_body_size=INGEST_BODY_LIMIT,
)
async def ingest_meter_readings(request: Request, session: SessionDep, who: Ingestor) -> IngestReadingsResponse:
    """Record a batch of 1..100,000 readings (all or nothing: 422 naming every offending item by index
    and field; more than 100,000 readings: 413).

    Each reading names its series by `series_id` or `external_key` (an unknown series, or another
    company's, is refused as unknown), an instant with an offset, a finite value in the series' unit
    (a reading that states another `unit` is refused) and a quality (default measured). Two readings of
    the batch for the same series and instant must have the same value. The same (series, instant)
    again replaces the stored reading when its quality is equal or better (corrected > measured >
    estimated > provisional), else it is ignored; a replayed batch changes nothing. Each series
    written publishes one `metering.readings.v1` event (range and counts). Also accepted on Kafka
    topic ingest.meter-readings.v1 with the JSON payload."""
    items, loc = parse_body(await request.body(), request.headers.get("content-type"))
    plan = request.app.state.settings.write_plan()
    return await service.record_readings(session, who.company_id, items, loc, plan=plan)


@router.get(
    "/api/metering/series/{series_id}/readings",
    response_model=ReadingListResponse,
    responses=responses(NOT_FOUND, ValidationFailed, FORBIDDEN),
)
async def list_readings(
    series_id: SeriesIdPath,
    session: SessionDep,
    who: Reader,
    page: PageParams,
    from_: Annotated[
        UtcInstant | None,
        Query(alias="from", description="Inclusive lower bound of the readings' time (ISO 8601 with offset)."),
    ] = None,
    to: Annotated[
        UtcInstant | None,
        Query(description="Exclusive upper bound of the readings' time (ISO 8601 with offset)."),
    ] = None,
    resolution: Annotated[
        Resolution, Query(description="raw (default): the readings, paged; else rollups per calendar bucket.")
    ] = Resolution.RAW,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Rollups: IANA time zone of the buckets' calendar (default: the series' time zone).",
            examples=["Europe/Paris"],
        ),
    ] = None,
) -> ReadingListResponse | Response:
    """Return the raw readings of a series with time in [from, to) (either bound may be omitted),
    ordered by time, one page at a time; or, with `resolution` 15m, 1h, 1d or 1mo, its rollups.

    Rollups (`from` and `to` required) answer every bucket of the local calendar of `tz` that overlaps
    [from, to): its local start and end (a DST day lasts 23 or 25 hours), its value (instantaneous
    series: time-weighted average with min and max; cumulative series: the energy counted, counter
    rollovers included, resets left uncovered, never negative) and its coverage (expected against
    received quarter hours, share of time covered). Gaps are never interpolated.

    A member reads the series linked to a unit they are a resident of (others: 404)."""
    if who.unit_ids is not None:
        await series_service.readable_series(session, who, series_id)
    if resolution is Resolution.RAW:
        return await service.list_readings(session, who.company_id, series_id, from_, to, page)
    series, buckets = await rollups.read_rollups(session, who.company_id, series_id, from_, to, resolution, tz)
    # the shape of ReadingListResponse, serialized once (a test holds it to the model)
    body = {
        "series_id": series_id,
        "unit": series["unit"],
        "resolution": resolution.value,
        "timezone": tz or series["timezone"],
        "limit": page.limit,
        "offset": page.offset,
        "readings": [],
        "buckets": buckets,
    }
    return Response(orjson.dumps(body), media_type="application/json")
