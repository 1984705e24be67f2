"""Kafka consumer of ``ingest.unit-data.v1`` (consumer ``metering-service.unit-data``), in batch mode.

The payload is the JSON body of ``POST /api/ingest/unit-data``; the message carries the sender's bearer
token and the company comes from it (``gridcommons.ingest``). The new messages of one fetch are applied
in one transaction and one statement per company; when one is refused (credential, schema, an unknown unit) the batch is redone one
message at a time and only that message goes to ``ingest.unit-data.v1.dlq`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.ingest import IngestMessage
from gridcommons.timeutil import utcnow

from . import partitions, service

TOPIC = "ingest.unit-data.v1"
GROUP = "metering-service.unit-data"


def appliers(retention_days: int) -> tuple[Any, Any]:
    """``apply`` (one message) and ``apply_batch`` (the new messages of a fetch) for ``ingest_consumer``, with
    the history's retention (``METERING_UNIT_DATA_RETENTION_DAYS``)."""

    def horizon() -> datetime | None:
        return partitions.horizon(retention_days, utcnow())

    async def apply(session: AsyncSession, message: IngestMessage) -> None:
        documents = service.parse_request(message.payload, [])
        await service.record(session, message.company_id, documents, ["unit_data"], expired_before=horizon())

    async def apply_batch(session: AsyncSession, messages: Sequence[IngestMessage]) -> None:
        """The messages of a fetch as one batch per company, in order (the first of two documents for the
        same unit and datasetId still wins). A refusal fails the whole fetch: the runner then redoes it one
        message at a time with ``apply``, whose errors name the message's own documents."""
        by_company: dict[int, list[service.Incoming]] = {}
        for message in messages:
            by_company.setdefault(message.company_id, []).extend(service.parse_request(message.payload, []))
        for company_id, documents in by_company.items():
            await service.record(session, company_id, documents, ["unit_data"], expired_before=horizon())

    return apply, apply_batch
