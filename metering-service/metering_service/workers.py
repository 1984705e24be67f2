"""metering-service workers: the outbox relay, the readings partition maintainer, and one Kafka
consumer (group ``metering-service.consumers``) for the gateway replicas and the readings ingestion."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox, replicas
from .readings import workers as readings
from .readings.partitions import PartitionMaintainer
from .roles import INGESTORS
from .settings import MeteringSettings, load_settings

__all__ = ["build", "load_settings"]


def build(settings: MeteringSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    apply, apply_batch = readings.appliers(settings.write_plan())
    ingestion = ingest_consumer(
        name=readings.GROUP,
        topic=readings.TOPIC,
        roles=INGESTORS,
        apply=apply,
        apply_batch=apply_batch,
        batch_size=settings.ingest_batch_messages,
        sessionmaker=sessionmaker,
        outbox=outbox,
        replicas=replicas,
        infra=settings.infra,
    )
    return [
        OutboxRelay(outbox, engine, settings.infra),
        PartitionMaintainer(
            engine,
            ahead=settings.readings_partitions_ahead,
            retention_months=settings.readings_retention_months,
            interval=settings.readings_partition_interval_seconds,
        ),
        ConsumerGroup(
            "metering-service.consumers",
            [*replicas.workers(settings.infra, sessionmaker), ingestion],
            settings.infra,
        ),
    ]
