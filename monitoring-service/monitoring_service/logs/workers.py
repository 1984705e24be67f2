"""Kafka consumer of ``ingest.logs.v1`` (consumer ``monitoring-service.logs``).

The payload is the body of ``POST /api/ingest/logs``; the message carries the sender's bearer token and
the company comes from it (``gridcommons.ingest``). Batch mode: up to ``BATCH_SIZE`` messages are
written with one COPY in one transaction; a message refused (credential, schema, codes unknown to the
registry, a date outside the retention) sends the batch through one message at a time, and that
message alone goes to ``ingest.logs.v1.dlq`` with the reason. Redeliveries are skipped by event id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.ingest import IngestMessage

from ..db import community_replica
from ..settings import MonitoringSettings
from . import service
from .schemas import IngestLogsRequest

TOPIC = "ingest.logs.v1"
GROUP = "monitoring-service.logs"
BATCH_SIZE = 200  # messages (each up to 1,000 records)


def _items(message: IngestMessage, index: int | None = None) -> list[service.Item]:
    body = message.parse(IngestLogsRequest)
    where: tuple[str | int, ...] = ("logs",) if index is None else ("messages", index, "logs")
    return [service.Item(message.company_id, r, (*where, i)) for i, r in enumerate(body.logs)]


class LogsDoor:
    """``apply`` / ``apply_batch`` of the ingestion consumer, with the service's settings."""

    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings

    async def apply(self, session: AsyncSession, message: IngestMessage) -> None:
        await service.record(session, community_replica.lookup, _items(message), self.settings)

    async def apply_batch(self, session: AsyncSession, messages: Sequence[IngestMessage]) -> None:
        items = [item for i, m in enumerate(messages) for item in _items(m, i)]
        await service.record(session, community_replica.lookup, items, self.settings)
