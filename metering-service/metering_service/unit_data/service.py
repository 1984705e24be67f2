"""Rules of unit data: the one path of the HTTP door and the Kafka door, and the seed 004 reads.

A batch is all or nothing: every document must name a unit of the company's registry (replica) that
is not retired, and be a bounded JSON document (size, depth, text without NUL); every offending
document is named in the refusal. A document whose (unit, datasetId) is stored already is ignored
(first write wins: a report is the unit's measurement at one instant, a repeat is a redelivery), so
replays write and publish nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import ClusterRef, UnitRef
from gridcommons.errors import ValidationFailed, field_error
from gridcommons.validation import check_text

from . import events, partitions, repository
from .schemas import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    IngestUnitDataRequest,
    IngestUnitDataResponse,
    UnitDataDocument,
    document_time,
)

UNKNOWN_UNIT = "unknown unit"  # also another company's unit: existence is not revealed


@dataclass(frozen=True)
class Incoming:
    """A document of a batch: its checked fields and the JSON object as sent."""

    checked: UnitDataDocument
    sent: dict[str, Any]


def parse_request(payload: Any, loc: Sequence[str | int]) -> list[Incoming]:
    """The batch (a decoded JSON body or Kafka payload) as documents, or a ValidationFailed naming each error."""
    try:
        checked = IngestUnitDataRequest.model_validate(payload).unit_data
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise ValidationFailed([{**e, "loc": [*loc, *e["loc"]]} for e in errors]) from None
    return [Incoming(doc, sent) for doc, sent in zip(checked, payload["unit_data"], strict=True)]


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"the document nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def _stored_document(doc: Incoming) -> tuple[dict[str, Any], str]:
    """The document as stored (as sent, with ``time`` in UTC) and its JSON text; refused (ValueError)
    when unbounded."""
    stored = {**doc.sent, "time": document_time(doc.checked.time)}
    _check_json(stored)
    try:
        text = orjson.dumps(stored)
    except orjson.JSONEncodeError:
        raise ValueError("the document holds a number beyond 64 bits") from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"a document is at most {MAX_DOCUMENT_BYTES:,} bytes as JSON; this one has {len(text):,}")
    return stored, text.decode()


def _row(
    company_id: int, unit: dict[str, Any], doc: UnitDataDocument, stored: tuple[dict[str, Any], str]
) -> dict[str, Any]:
    apis = doc.apis
    mode = apis.operation_mode if apis is not None else None
    return {
        "company_id": company_id,
        "unit_id": unit["id"],
        "community_code": unit["community_code"],
        "cluster_code": unit["cluster_code"],
        "unit_code": unit["code"],
        "dataset_id": doc.datasetId,
        "time": doc.time,
        "rsoc": doc.battery.rsoc if doc.battery is not None else None,
        "operation_mode": mode.effective if mode is not None else None,
        "remaining_capacity_wh": apis.remaining_capacity_wh if apis is not None else None,
        "is_grid_master": apis.is_grid_master if apis is not None else None,
        "document": stored[1],  # JSON text, as the statement takes it
        "stored": stored[0],
    }


async def record(
    session: AsyncSession,
    company_id: int,
    documents: Sequence[Incoming],
    loc: Sequence[str | int],
    *,
    expired_before: datetime | None = None,
) -> IngestUnitDataResponse:
    """Store a batch (all or nothing) and publish one event per document stored. A document whose time is
    before ``expired_before`` (the retention's horizon, ``partitions.horizon``; None: off) is accepted and
    ignored, like a document stored already: its month is dropped or about to be."""
    errors: list[dict[str, Any]] = []
    stored: list[tuple[dict[str, Any], str] | None] = []
    for i, incoming in enumerate(documents):
        try:
            stored.append(_stored_document(incoming))
        except ValueError as exc:
            stored.append(None)
            errors.append(field_error([*loc, i], str(exc), None))
    codes = [(d.checked.oesunit.communityId, d.checked.oesunit.clusterId, d.checked.oesunit.id) for d in documents]
    units = await repository.find_units(session, company_id, codes)
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for i, (doc, key) in enumerate(zip((d.checked for d in documents), codes, strict=True)):
        unit = units.get(key)
        if unit is None:
            errors.append(field_error([*loc, i, "oesunit"], UNKNOWN_UNIT, "/".join(key)))
        elif unit["retired_at"] is not None:
            errors.append(field_error([*loc, i, "oesunit"], "the unit is retired: it takes no data", "/".join(key)))
        elif (document := stored[i]) is not None:
            # The first of two documents with the same (unit, datasetId) wins, as against a stored one.
            rows.setdefault((unit["id"], doc.datasetId), _row(company_id, unit, doc, document))
    if errors:
        raise ValidationFailed(errors[:1000])
    ordered = [  # one lock order for concurrent batches
        rows[k] for k in sorted(rows) if expired_before is None or rows[k]["time"] >= expired_before
    ]
    if ordered:
        await repository.lock_units(session, (r["unit_id"] for r in ordered))
        await partitions.UNIT_DATA.ensure(await session.connection(), (r["time"] for r in ordered))
    inserted = await repository.insert_new(session, ordered)
    written = [r for r in ordered if (r["unit_id"], r["dataset_id"]) in inserted]
    newest: dict[int, dict[str, Any]] = {}
    for r in written:  # sorted by (unit, datasetId): the last one of a unit is its newest
        newest[r["unit_id"]] = r
    await repository.raise_latest(session, list(newest.values()))
    await events.unit_data_recorded(session, company_id, written)
    return IngestUnitDataResponse(
        received=len(documents), written=len(written), unchanged=len(documents) - len(written)
    )


async def unit_id_list(session: AsyncSession, cluster: ClusterRef) -> list[str]:
    return await repository.unit_codes(session, cluster.company_id, cluster.community_code, cluster.cluster_code)


async def latest_set(session: AsyncSession, cluster: ClusterRef) -> str:
    return await repository.cluster_latest_json(
        session, cluster.company_id, cluster.community_code, cluster.cluster_code
    )


async def resident_latest_set(session: AsyncSession, unit: UnitRef) -> str:
    return await repository.unit_latest_json(session, unit.company_id, unit.unit_id)
