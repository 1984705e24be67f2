"""Kafka consumer of ``ingest.dispatches.v1`` (group ``asset-service.dispatches``): the only writer of
dispatch history.

One dispatch command per message (``schemas.DispatchCommand``), in a CloudEvents envelope (company in
``companyid``; ``event_id``/``source``/``published_at`` default to the envelope's ``id``/``source``/
``time``) or as a plain object with ``company_id``. Idempotent by event id (``processed_events`` and
the (company_id, event_id) key); bad JSON, schema errors and unknown assets go to ``ingest.dispatches.v1.dlq``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner
from gridcommons.worker import Worker

from ..assets.ingest import poison_from, unwrap
from ..db import outbox
from ..settings import AssetSettings
from . import service
from .schemas import DispatchCommand

TOPIC = "ingest.dispatches.v1"
GROUP = "asset-service.dispatches"


async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
    message = unwrap(msg)
    payload: dict[str, Any] = dict(message.payload)
    defaults = {
        "event_id": message.envelope_id,
        "source": message.envelope_source,
        "published_at": message.envelope_time,
    }
    for key, value in defaults.items():
        if key not in payload and value is not None:
            payload[key] = value
    try:
        command = DispatchCommand.model_validate(payload)
    except ValidationError as exc:
        raise poison_from(exc) from exc
    await service.record_dispatch(session, message.company_id, command)


def consumers(settings: AssetSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[Worker]:
    runner = ConsumerRunner(
        name=GROUP, topics=(TOPIC,), handler=handle, sessionmaker=sessionmaker, outbox=outbox, infra=settings.infra
    )
    return [runner]
