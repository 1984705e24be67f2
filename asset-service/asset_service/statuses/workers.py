"""Kafka consumer of ``ingest.asset-statuses.v1`` (group ``asset-service.statuses``).

The payload is the body of ``POST /api/ingest/asset-statuses``; the message carries the sender's
bearer token and the company comes from it (``gridcommons.ingest``). Redeliveries are skipped by
event id (``processed_events``) and harmless anyway (upsert by natural key); a refused credential,
bad JSON, schema errors and unknown asset ids are dead letters (``ingest.asset-statuses.v1.dlq``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.ingest import IngestMessage, ingest_consumer
from gridcommons.worker import Worker

from ..db import outbox, replicas
from ..roles import INGESTORS
from ..settings import AssetSettings
from . import service
from .schemas import IngestStatusesRequest

TOPIC = "ingest.asset-statuses.v1"
GROUP = "asset-service.statuses"


async def apply(session: AsyncSession, message: IngestMessage) -> None:
    await service.record_statuses(session, message.company_id, message.parse(IngestStatusesRequest))


def consumers(settings: AssetSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[Worker]:
    return [
        ingest_consumer(
            name=GROUP,
            topic=TOPIC,
            roles=INGESTORS,
            apply=apply,
            sessionmaker=sessionmaker,
            outbox=outbox,
            replicas=replicas,
            infra=settings.infra,
        )
    ]
