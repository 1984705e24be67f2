"""gateway workers: the outbox relay (publishes gateway.membership.v1 and gateway.token.v1), and one
Kafka consumer (group ``gateway.consumers``) keeping the community registry replica."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .auth.db import community_replica, outbox
from .settings import GatewaySettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "gateway.consumers"  # the worker process's one Kafka consumer group

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [community_replica.consumes()]


def build(settings: GatewaySettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, community_replica.workers(settings.infra, sessionmaker), settings.infra),
    ]
