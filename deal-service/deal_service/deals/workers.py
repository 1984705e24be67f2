"""Kafka consumer of ``ingest.deals.v1`` (consumer ``deal-service.deals``).

The payload is the body of ``POST /api/ingest/deals``; the message carries the sender's bearer token
and the company comes from it (``gridcommons.ingest``). Batch mode: up to ``BATCH_SIZE`` messages are
recorded with one upsert in one transaction (the newest report of each deal, so one event per deal
and batch); a message refused (credential, schema, codes unknown to
the registry) sends the batch through one message at a time, and that message alone goes to
``ingest.deals.v1.dlq`` with the reason. Redeliveries are skipped by event id and harmless anyway (an
older or equal report changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.ingest import IngestMessage

from ..db import community_replica
from . import service
from .schemas import IngestDealsRequest

TOPIC = "ingest.deals.v1"
GROUP = "deal-service.deals"
BATCH_SIZE = 1000


async def apply(session: AsyncSession, message: IngestMessage) -> None:
    batch = service.NewestReports(community_replica.lookup)
    await batch.add(session, message.company_id, message.parse(IngestDealsRequest).deals, ("deals",))
    await batch.record(session)


async def apply_batch(session: AsyncSession, messages: Sequence[IngestMessage]) -> None:
    batch = service.NewestReports(community_replica.lookup)
    for i, message in enumerate(messages):  # folded message by message: one report per deal is held
        deals = message.parse(IngestDealsRequest).deals
        await batch.add(session, message.company_id, deals, ("messages", i, "deals"))
    await batch.record(session)
