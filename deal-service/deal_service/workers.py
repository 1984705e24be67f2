"""deal-service workers: the outbox relay, and one Kafka consumer (group ``deal-service.consumers``) for the
gateway replicas and the community registry replica."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .settings import DealSettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "deal-service.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [replicas.consumes(), community_replica.consumes()]


def build(settings: DealSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    consumers = [
        *replicas.workers(settings.infra, sessionmaker),
        *community_replica.workers(settings.infra, sessionmaker),
    ]
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, consumers, settings.infra),
    ]
