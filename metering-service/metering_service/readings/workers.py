"""Kafka consumer of ``ingest.meter-readings.v1`` (consumer ``metering-service.readings``), in batch mode.

The payload is the JSON body of ``POST /api/ingest/meter-readings``; the message carries the sender's
bearer token and the company comes from it (``gridcommons.ingest``). Up to ``BATCH_SIZE`` messages
of one fetch are applied in one transaction and one statement (``service.record_many``); when one of
them is refused (credential, schema, an offending reading) the batch is redone one message at a time
and only that message goes to ``ingest.meter-readings.v1.dlq``. Redeliveries are skipped by event id
(``processed_events``) and harmless anyway (a replay changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import ValidationFailed, field_error
from gridcommons.ingest import IngestMessage

from . import service
from .repository import WritePlan
from .schemas import MAX_BATCH

TOPIC = "ingest.meter-readings.v1"
GROUP = "metering-service.readings"
BATCH_SIZE = 200


def _readings(message: IngestMessage) -> Any:
    extra = sorted(set(message.payload) - {"readings"})
    if extra:
        raise ValidationFailed([field_error([name], "unknown field", None) for name in extra])
    if "readings" not in message.payload:
        raise ValidationFailed([field_error(["readings"], "Field required", None, type="missing")])
    readings = message.payload["readings"]
    if isinstance(readings, list) and len(readings) > MAX_BATCH:
        raise ValidationFailed([field_error(["readings"], f"at most {MAX_BATCH:,} readings per message", None)])
    return readings


def appliers(plan: WritePlan) -> tuple[Any, Any]:
    """``apply`` (one message) and ``apply_batch`` (the new messages of a fetch) for ``ingest_consumer``."""

    async def apply(session: AsyncSession, message: IngestMessage) -> None:
        await service.record_many(session, [(message.company_id, _readings(message))], plan=plan)

    async def apply_batch(session: AsyncSession, messages: Sequence[IngestMessage]) -> None:
        await service.record_many(session, [(m.company_id, _readings(m)) for m in messages], plan=plan)

    return apply, apply_batch
