"""Kafka consumer of ``ingest.asset-statuses.v1`` (consumer ``asset-service.statuses``).

The payload is the body of ``POST /api/ingest/asset-statuses``; the message carries the sender's
bearer token and the company comes from it (``gridcommons.ingest``). Redeliveries are skipped by
event id (``processed_events``) and harmless anyway (upsert by natural key); a refused credential,
bad JSON, schema errors and unknown asset ids are poison messages (``ingest.asset-statuses.v1.dlq``).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner, PoisonMessage
from gridcommons.ingest import IngestMessage, ingest_consumer

from ..db import outbox, replicas
from ..roles import INGESTORS
from ..settings import AssetSettings
from . import service
from .schemas import IngestStatusesRequest

TOPIC = "ingest.asset-statuses.v1"
GROUP = "asset-service.statuses"


async def apply(session: AsyncSession, message: IngestMessage) -> None:
    body = message.parse(IngestStatusesRequest)
    try:
        await service.record_statuses(session, message.company_id, body)
    except RequestValidationError as exc:
        raise PoisonMessage("; ".join(str(e["msg"]) for e in exc.errors())) from exc


def consumers(settings: AssetSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[ConsumerRunner]:
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
