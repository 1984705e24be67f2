"""Kafka consumer of ``ingest.asset-statuses.v1`` (group ``asset-service.statuses``).

The payload is the body of ``POST /api/ingest/asset-statuses``, in a CloudEvents envelope (company
in ``companyid``) or as a plain object with ``company_id`` (see ``assets.ingest``). Redeliveries are
skipped by event id (``processed_events``) and harmless anyway (upsert by natural key); bad JSON,
schema errors and unknown asset ids are poison messages (``ingest.asset-statuses.v1.dlq``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.structs import ConsumerRecord
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner, PoisonMessage
from gridcommons.worker import Worker

from ..assets.ingest import poison_from, unwrap
from ..db import outbox
from ..settings import AssetSettings
from . import service
from .schemas import IngestStatusesRequest

TOPIC = "ingest.asset-statuses.v1"
GROUP = "asset-service.statuses"


async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
    message = unwrap(msg)
    try:
        body = IngestStatusesRequest.model_validate(message.payload)
    except ValidationError as exc:
        raise poison_from(exc) from exc
    try:
        await service.record_statuses(session, message.company_id, body)
    except RequestValidationError as exc:
        raise PoisonMessage("; ".join(str(e["msg"]) for e in exc.errors())) from exc


def consumers(settings: AssetSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[Worker]:
    runner = ConsumerRunner(
        name=GROUP, topics=(TOPIC,), handler=handle, sessionmaker=sessionmaker, outbox=outbox, infra=settings.infra
    )
    return [runner]
