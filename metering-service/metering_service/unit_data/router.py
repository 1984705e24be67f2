from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from gridcommons.community import ResidentUnit, StaffCluster
from gridcommons.db import SessionDep
from gridcommons.errors import DomainError, Forbidden, ValidationFailed, responses
from gridcommons.openapi import INGESTION_TAG
from gridcommons.serialization import fast_json
from gridcommons.timeutil import utcnow

from ..readings.parsing import BatchTooLarge, UnsupportedMediaType
from ..roles import Ingestor
from . import partitions, service
from .schemas import IngestUnitDataResponse, UnitDataOut

staff_router = APIRouter(prefix="/api/staff/unitData", tags=["unit data"])
resident_router = APIRouter(prefix="/api/resident/unitData", tags=["unit data"])
ingest_router = APIRouter(tags=[INGESTION_TAG["name"]])

INGEST_BODY_LIMIT = 8 * 1024 * 1024  # 1,000 documents of a few KiB

STAFF_GUARD = responses(
    (DomainError, "`no param : communityId, clusterId` or `bad param values : communityId, clusterId`"),
    (Forbidden, "`staff required`: the caller is neither admin nor operator"),
)
RESIDENT_GUARD = responses(
    (DomainError, "`no param : communityId, clusterId, unitId` or `bad param values : ...`"),
    (Forbidden, "`not a resident`: the caller is not linked to the unit"),
)

INGEST_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The batch of unit data documents as JSON.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestUnitDataRequest"}}},
    }
}


@ingest_router.post(
    "/api/ingest/unit-data",
    response_model=IngestUnitDataResponse,
    responses=responses(
        ValidationFailed,
        (BatchTooLarge, "A body over 8 MiB"),
        (UnsupportedMediaType, "Content type other than application/json"),
    ),
    openapi_extra=INGEST_REQUEST_BODY,
    max_body_size=INGEST_BODY_LIMIT,
)
async def ingest_unit_data(request: Request, session: SessionDep, who: Ingestor) -> IngestUnitDataResponse:
    """Record a batch of 1..1,000 unit data documents (all or nothing: 422 naming every offending
    document).

    Each document names its unit by `oesunit.communityId`, `oesunit.clusterId` and `oesunit.id` (codes
    of the company's registry; an unknown unit, another company's or a retired one is refused) and
    carries `time` (ISO 8601 with an offset) and `datasetId` (0 is valid). A document whose unit and
    datasetId are stored already is ignored (so a replayed batch changes nothing). Each stored document
    publishes one `metering.unit-data.v1` event. Also accepted on Kafka topic ingest.unit-data.v1."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Send the batch as application/json")
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed.at(["body"], f"the body is not JSON: {exc.msg}") from None
    documents = service.parse_request(payload, ["body"])
    expired_before = partitions.horizon(request.app.state.settings.unit_data_retention_days, utcnow())
    return await service.record(
        session, who.company_id, documents, ["body", "unit_data"], expired_before=expired_before
    )


@staff_router.get("/unitIdList", response_model=list[str], responses=STAFF_GUARD)
async def unit_id_list(cluster: StaffCluster, session: SessionDep) -> list[str]:
    """Codes of the cluster's units that ever sent unit data, in code order."""
    return await service.unit_id_list(session, cluster)


@staff_router.get("/latestSet", response_model=dict[str, UnitDataOut], responses=STAFF_GUARD)
async def latest_set(cluster: StaffCluster, session: SessionDep) -> Response:
    """The cluster's newest report: the documents with the highest `datasetId` among the cluster's unit
    data (0 included), by unit code in code order; `{}` when the cluster has none. Units absent from
    that report are absent."""
    return fast_json(await service.latest_set(session, cluster))


@resident_router.get("/latestSet", response_model=dict[str, UnitDataOut], responses=RESIDENT_GUARD)
async def resident_latest_set(unit: ResidentUnit, session: SessionDep) -> Response:
    """The unit's newest document (highest `datasetId` among its own), `{unit code: document}`, without
    the network identifiers (`oesunit.ip`, `ipv6_ll`, `ipv6_g`, `mac`); `{}` when it has none."""
    return fast_json(await service.resident_latest_set(session, unit))
