"""deal-service workers: the outbox relay, one Kafka consumer (group ``deal-service.consumers``) for the
gateway replicas, the community registry replica, the deal ingestion door and the downtime derivation
(``metering.unit-data.v1``), and the downtime silence check (one replica at a time)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .deals import workers as deals
from .deals.schemas import IngestDealsRequest
from .downtime import workers as downtime
from .roles import INGESTORS
from .settings import DealSettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "deal-service.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [
    replicas.consumes(),
    community_replica.consumes(),
    IngestDoor(
        deals.GROUP,
        deals.TOPIC,
        IngestDealsRequest,
        INGESTORS,
        key="the sender's choice (not read); the deal id keeps one deal's reports in order",
        description="Deal reports (the body of POST /api/ingest/deals), upserted by dealId: an older report "
        "changes nothing; up to 1,000 messages are recorded in one transaction, each deal they create or move "
        "forward published once on deals.deal.v1 with its newest report. Unknown communityId/clusterId codes "
        "refuse the whole message.",
    ),
    Consumes(
        downtime.GROUP,
        (downtime.TOPIC,),
        "Derives each unit's downtime from its unit data (operation mode other than autonomous, data gaps of at "
        "least the tolerance; late and repeated samples re-derive the affected interval) and publishes every "
        "change on deals.downtime.v1.",
    ),
]


def build(settings: DealSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    ingestion = ingest_consumer(
        name=deals.GROUP,
        topic=deals.TOPIC,
        roles=INGESTORS,
        apply=deals.apply,
        apply_batch=deals.apply_batch,
        batch_size=deals.BATCH_SIZE,
        sessionmaker=sessionmaker,
        outbox=outbox,
        replicas=replicas,
        infra=settings.infra,
    )
    consumers = [
        *replicas.workers(settings.infra, sessionmaker),
        *community_replica.workers(settings.infra, sessionmaker),
        ingestion,
        downtime.consumer(settings, sessionmaker),
    ]
    workers: list[Worker] = [
        OutboxRelay(outbox, engine, settings.infra),
        # batches of the ingestion door fill up to its batch size during a backlog
        ConsumerGroup(CONSUMER_GROUP, consumers, settings.infra, max_records=deals.BATCH_SIZE),
    ]
    if settings.downtime_check_interval_sec > 0:
        workers.append(downtime.SilenceCheck(settings, sessionmaker))
    return workers
