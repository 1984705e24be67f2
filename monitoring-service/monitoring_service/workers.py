"""monitoring-service workers: the outbox relay; one Kafka consumer group (``monitoring-service.consumers``)
for the gateway replicas, the community registry replica, the logs ingestion door (``ingest.logs.v1``)
and the unit data of metering (``metering.unit-data.v1``); the logs' partition maintainer; one job
runner per job type; the notifier's own consumer group (``monitoring-service.notifier``, of
``monitoring.failure.v1``) and the dispatcher that sends its deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.partitions import PartitionMaintainer, PartitionPolicy
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .jobs.rules import JOB_TYPES
from .jobs.workers import UNIT_DATA_CONSUMES, JobRunner, unit_data_consumer
from .logs import workers as logs
from .logs.models import partitions as log_partitions
from .logs.schemas import IngestLogsRequest
from .notifications import workers as notifier
from .notifications.dispatcher import NotificationDispatcher
from .roles import INGESTORS
from .settings import MonitoringSettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "monitoring-service.consumers"  # the replicas; the notifier has a group of its own

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [
    replicas.consumes(),
    community_replica.consumes(),
    IngestDoor(
        logs.GROUP,
        logs.TOPIC,
        IngestLogsRequest,
        INGESTORS,
        key="the sender's choice (not read); e.g. the cluster code",
        description="Program log records (the body of POST /api/ingest/logs), stored for the monitoring jobs and "
        "the operators' search. Unknown communityId/clusterId codes, or a datetime outside the retention or in "
        "the future, refuse the whole message.",
    ),
    UNIT_DATA_CONSUMES,
    notifier.CONSUMES,
]


def build(settings: MonitoringSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    door = logs.LogsDoor(settings)
    ingestion = ingest_consumer(
        name=logs.GROUP,
        topic=logs.TOPIC,
        roles=INGESTORS,
        apply=door.apply,
        apply_batch=door.apply_batch,
        batch_size=logs.BATCH_SIZE,
        sessionmaker=sessionmaker,
        outbox=outbox,
        replicas=replicas,
        infra=settings.infra,
    )
    consumers = [
        *replicas.workers(settings.infra, sessionmaker),
        *community_replica.workers(settings.infra, sessionmaker),
        ingestion,
        unit_data_consumer(settings.infra, sessionmaker),
    ]
    workers: list[Worker] = [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, consumers, settings.infra),
        PartitionMaintainer(
            engine,
            [
                PartitionPolicy(
                    log_partitions, ahead=settings.log_partitions_ahead_days, retention=settings.log_retention_days
                )
            ],
            name="monitoring-service.log-partitions",
        ),
        # its own group: notifications neither wait behind nor hold up the replicas
        ConsumerGroup(notifier.GROUP, [notifier.runner(settings, sessionmaker)], settings.infra),
        NotificationDispatcher(settings, engine),
    ]
    if settings.jobs_enabled:
        workers += [JobRunner(t, engine, make_sessionmaker(engine), settings) for t in JOB_TYPES]
    return workers
