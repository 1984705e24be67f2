"""Decoding of ingestion messages on Kafka (``ingest.asset-statuses.v1``, ``ingest.dispatches.v1``).

Two encodings are accepted, both carrying the tenant:

- a CloudEvents 1.0 structured JSON envelope (the house format, DESIGN §5): the company is the
  ``companyid`` extension and the payload is ``data``; the envelope's ``id``, ``source`` and ``time``
  are exposed for payloads that record them (dispatch commands);
- a plain JSON object: the payload itself with an extra top-level ``company_id``.

Anything else (not JSON, not an object, no or a bad company) is a poison message (DLQ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from gridcommons.consumer import PoisonMessage, decode_json
from gridcommons.events import CloudEvent


@dataclass(frozen=True)
class IngestMessage:
    company_id: int
    payload: dict[str, Any]
    envelope_id: str | None = None
    envelope_source: str | None = None
    envelope_time: datetime | None = None


def _company(value: Any) -> int:
    if isinstance(value, bool):
        raise PoisonMessage("company id must be a positive integer")
    try:
        company_id = int(str(value).strip())
    except (TypeError, ValueError):
        raise PoisonMessage(f"company id must be a positive integer, got {value!r}") from None
    if company_id <= 0 or company_id >= 2**63:
        raise PoisonMessage(f"company id must be a positive integer, got {value!r}")
    return company_id


def unwrap(msg: ConsumerRecord[bytes, bytes]) -> IngestMessage:
    body = decode_json(msg)
    if not isinstance(body, dict):
        raise PoisonMessage("value must be a JSON object")
    if "specversion" in body:
        try:
            event = CloudEvent.model_validate(body)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid CloudEvents envelope: {exc}") from exc
        if event.companyid is None:
            raise PoisonMessage("CloudEvents envelope has no companyid")
        if not isinstance(event.data, dict):
            raise PoisonMessage("CloudEvents data must be a JSON object")
        return IngestMessage(_company(event.companyid), event.data, event.id, event.source, event.time)
    if "company_id" not in body:
        raise PoisonMessage("message has neither a CloudEvents envelope nor a company_id")
    payload = {k: v for k, v in body.items() if k != "company_id"}
    return IngestMessage(_company(body["company_id"]), payload)


def poison_from(exc: ValidationError) -> PoisonMessage:
    """A schema error in an ingestion payload: dead-letter it with the validation errors."""
    errors = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return PoisonMessage(f"invalid payload: {errors}")
