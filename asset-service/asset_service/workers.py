"""asset-service workers: the outbox relay, and one Kafka consumer (group ``asset-service.consumers``)
for the gateway replicas' consumer and the ingestion consumers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox, replicas
from .dispatches import workers as dispatches
from .roles import INGESTORS
from .settings import AssetSettings, load_settings
from .statuses import workers as statuses

__all__ = ["build", "load_settings"]


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
        ConsumerGroup(
            "asset-service.consumers", [*replicas.workers(settings.infra, sessionmaker), *ingestion], settings.infra
        ),
    ]
