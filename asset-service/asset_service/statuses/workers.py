"""Kafka consumer of ``ingest.asset-statuses.v1`` (consumer ``asset-service.statuses``).

The payload is the body of ``POST /api/ingest/asset-statuses``; the message carries the sender's
bearer token and the company comes from it (``gridcommons.ingest``). Redeliveries are skipped by
event id (``processed_events``) and harmless anyway (upsert by natural key); a refused credential,
bad JSON, schema errors and unknown asset ids are dead letters (``ingest.asset-statuses.v1.dlq``).
``asset_service.workers`` builds the consumer group (``gridcommons.ingest.ingest_consumer``) from
``TOPIC``, ``GROUP`` and ``apply``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.ingest import IngestMessage

from . import service
from .schemas import IngestStatusesRequest

TOPIC = "ingest.asset-statuses.v1"
GROUP = "asset-service.statuses"


async def apply(session: AsyncSession, message: IngestMessage) -> None:
    await service.record_statuses(session, message.company_id, message.parse(IngestStatusesRequest))
