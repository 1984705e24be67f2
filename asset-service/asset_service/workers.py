"""asset-service workers: the outbox relay, and one Kafka consumer (group ``asset-service.consumers``)
for the gateway replicas' consumer and the ingestion consumers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox, replicas
from .dispatches import workers as dispatches
from .dispatches.schemas import DispatchCommand
from .roles import INGESTORS
from .settings import AssetSettings, load_settings
from .statuses import workers as statuses
from .statuses.schemas import IngestStatusesRequest

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "asset-service.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document, ``python -m gridcommons.asyncapi``; a test holds
# it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [
    replicas.consumes(),
    IngestDoor(
        statuses.GROUP,
        statuses.TOPIC,
        IngestStatusesRequest,
        INGESTORS,
        key="the sender's choice (not read); the asset id keeps one asset's batches in order",
        description="Asset status batches, stored atomically and idempotently by (asset, effective_at); each new "
        "or changed entry is published on assets.status.v1. Unknown asset ids refuse the whole message.",
    ),
    IngestDoor(
        dispatches.GROUP,
        dispatches.TOPIC,
        DispatchCommand,
        INGESTORS,
        key="the asset id (one asset's commands stay in order)",
        description="Dispatch commands, one per message; recorded once per event_id and published on "
        "assets.dispatch.v1.",
        envelope_defaults=("event_id", "source", "published_at"),  # what dispatches.workers.apply fills in
    ),
]


def build(settings: AssetSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    ingestion = [
        ingest_consumer(
            name=door.GROUP,
            topic=door.TOPIC,
            roles=INGESTORS,
            apply=door.apply,
            sessionmaker=sessionmaker,
            outbox=outbox,
            replicas=replicas,
            infra=settings.infra,
        )
        for door in (statuses, dispatches)
    ]
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, [*replicas.workers(settings.infra, sessionmaker), *ingestion], settings.infra),
    ]
