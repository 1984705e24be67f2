"""Kafka consumer of ``ingest.dispatches.v1`` (consumer ``asset-service.dispatches``): the only writer of
dispatch history.

One dispatch command per message (``schemas.DispatchCommand``), plain or in a CloudEvents envelope
(``event_id``/``source``/``published_at`` default to the envelope's ``id``/``source``/``time``); the
message carries the sender's bearer token and the company comes from it (``gridcommons.ingest``).
Idempotent by event id (``processed_events`` and the (company_id, event_id) key); a refused
credential, bad JSON, schema errors and unknown assets go to ``ingest.dispatches.v1.dlq``.
``asset_service.workers`` builds the consumer group (``gridcommons.ingest.ingest_consumer``) from
``TOPIC``, ``GROUP`` and ``apply``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.ingest import IngestMessage

from . import service
from .schemas import DispatchCommand

TOPIC = "ingest.dispatches.v1"
GROUP = "asset-service.dispatches"


async def apply(session: AsyncSession, message: IngestMessage) -> None:
    command = message.parse(
        DispatchCommand,
        event_id=message.envelope_id,
        source=message.envelope_source,
        published_at=message.envelope_time,
    )
    await service.record_dispatch(session, message.company_id, command)
