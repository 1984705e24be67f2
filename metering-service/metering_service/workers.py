"""metering-service workers: the Modbus poller, the outbox relay, the partition maintainer (readings, unit data), and one Kafka
consumer (group ``metering-service.consumers``) for the gateway replicas, the community registry replica and
the readings ingestion."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.ingest import ingest_consumer
from gridcommons.outbox import OutboxRelay
from gridcommons.partitions import PartitionMaintainer
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .modbus.poller import ModbusPoller
from .readings import partitions as readings_partitions
from .readings import workers as readings
from .readings.schemas import IngestReadingsRequest
from .roles import INGESTORS
from .settings import MeteringSettings, load_settings
from .unit_data import partitions as unit_data_partitions
from .unit_data import workers as unit_data
from .unit_data.schemas import IngestUnitDataRequest

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "metering-service.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [
    replicas.consumes(),
    community_replica.consumes(),
    IngestDoor(
        readings.GROUP,
        readings.TOPIC,
        IngestReadingsRequest,
        INGESTORS,
        key="the sender's choice (not read); a series id or external key keeps one series' batches in order",
        description="Batches of meter readings (the body of POST /api/ingest/meter-readings), validated and "
        "written all or nothing with the quality rule; each accepted batch publishes metering.readings.v1 "
        "per series. A refused batch goes to the DLQ with the reasons.",
    ),
    IngestDoor(
        unit_data.GROUP,
        unit_data.TOPIC,
        IngestUnitDataRequest,
        INGESTORS,
        key="the sender's choice (not read); a unit or cluster code keeps its reports in order",
        description="Batches of unit data documents (the body of POST /api/ingest/unit-data), stored all or "
        "nothing, once per (unit, datasetId); each stored document publishes metering.unit-data.v1. A refused "
        "batch goes to the DLQ with the reasons.",
    ),
]


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
    apply_unit_data, apply_unit_data_batch = unit_data.appliers(settings.unit_data_retention_days)
    unit_data_ingestion = ingest_consumer(
        name=unit_data.GROUP,
        topic=unit_data.TOPIC,
        roles=INGESTORS,
        apply=apply_unit_data,
        apply_batch=apply_unit_data_batch,
        batch_size=settings.ingest_batch_messages,
        sessionmaker=sessionmaker,
        outbox=outbox,
        replicas=replicas,
        infra=settings.infra,
    )
    pollers: list[Worker] = []
    if settings.modbus_poll:
        pollers.append(ModbusPoller(engine, settings.poller_settings(), settings.write_plan()))
    return [
        *pollers,
        OutboxRelay(outbox, engine, settings.infra),
        PartitionMaintainer(
            engine,
            [
                readings_partitions.policy(
                    ahead=settings.readings_partitions_ahead, retention_months=settings.readings_retention_months
                ),
                unit_data_partitions.policy(
                    ahead=settings.unit_data_partitions_ahead, retention_days=settings.unit_data_retention_days
                ),
            ],
            name="metering-service.partitions",
            interval=settings.readings_partition_interval_seconds,
        ),
        ConsumerGroup(
            CONSUMER_GROUP,
            [
                *replicas.workers(settings.infra, sessionmaker),
                *community_replica.workers(settings.infra, sessionmaker),
                ingestion,
                unit_data_ingestion,
            ],
            settings.infra,
        ),
    ]
