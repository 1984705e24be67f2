"""community-service workers: the outbox relay, and one Kafka consumer (group ``community-service.consumers``)
for the gateway replicas (memberships: a unit's resident must be a member of the company)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox, replicas
from .settings import CommunitySettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "community-service.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [replicas.consumes()]


def build(settings: CommunitySettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, [*replicas.workers(settings.infra, sessionmaker)], settings.infra),
    ]
