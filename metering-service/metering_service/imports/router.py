from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, ValidationFailed, responses
from gridcommons.pagination import PageParams

from ..readings.parsing import UnsupportedMediaType
from ..roles import Manager
from ..series.router import SeriesIdPath
from . import service
from .schemas import CHUNK_ROWS, ImportListResponse, ImportResponse

router = APIRouter(tags=["imports"])

# A backfill of years of readings of many channels: tens of millions of lines of ~40 bytes.
IMPORT_BODY_LIMIT = 16 * 1024**3
ImportIdPath = Annotated[int, Path(ge=1, le=2**53 - 1, description="Id of the import.", examples=[3])]

IMPORT_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV file (UTF-8), sent as `text/csv` or `application/octet-stream` (what SDK "
        "generators send for a file): a header line naming the columns `time`, `value` and optionally `quality` "
        "and `unit`, then one reading per line, e.g. `2025-01-01T00:00:00Z,1234.5,measured`; empty cells are "
        "omitted fields. Sent as it is read (chunked transfer or a Content-Length); any size up to 16 GiB.",
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary", "description": "The CSV file."},
            }
        },
    }
}


@router.post(
    "/api/metering/series/{series_id}/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResponse,
    responses=responses(
        (NotFound, "No such series in this company"),
        (UnsupportedMediaType, "Content type other than text/csv or application/octet-stream"),
        (ValidationFailed, "Empty file, a header without time and value, a line over 64 KiB, or a retired series"),
    ),
    openapi_extra=IMPORT_REQUEST_BODY,
    max_body_size=IMPORT_BODY_LIMIT,
)
async def import_readings(
    series_id: SeriesIdPath, request: Request, response: Response, who: Manager
) -> ImportResponse:
    """Import a CSV file of readings into the series (a backfill), read as it arrives and written in
    chunks of 10,000 rows with the rules of the ingestion door (instants with an offset, finite values,
    the series' unit, the quality rule; events per chunk). Bad rows do not stop the file: they are
    counted and listed with their line and reason, the others are written. The answer is the finished
    import; while it runs, `GET .../imports/{import_id}` (or the list) shows its progress."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/octet-stream"):
        raise UnsupportedMediaType("Send the file as text/csv (or application/octet-stream)")
    plan = request.app.state.settings.write_plan()
    done = await service.run_import(
        request.app.state.sessionmaker, who.company_id, series_id, request.stream(), plan=plan
    )
    response.headers["Location"] = f"/api/metering/series/{series_id}/imports/{done.id}"
    return done


@router.get(
    "/api/metering/series/{series_id}/imports",
    response_model=ImportListResponse,
    responses=responses((NotFound, "No such series in this company")),
)
async def list_imports(
    series_id: SeriesIdPath, session: SessionDep, who: Manager, page: PageParams
) -> ImportListResponse:
    """The series' imports, newest first (running ones included, with their progress)."""
    return await service.list_imports(session, who.company_id, series_id, page)


@router.get(
    "/api/metering/series/{series_id}/imports/{import_id}",
    response_model=ImportResponse,
    responses=responses((NotFound, "No such import of this series in this company")),
)
async def get_import(
    series_id: SeriesIdPath, import_id: ImportIdPath, session: SessionDep, who: Manager
) -> ImportResponse:
    """One import and its progress: rows read, written, unchanged and rejected (with line and reason)."""
    return await service.get_import(session, who.company_id, series_id, import_id)


__all__ = ["CHUNK_ROWS", "router"]
