"""monitoring-service workers: the outbox relay; one Kafka consumer (group ``monitoring-service.consumers``) for the
gateway replicas and the community registry replica; the notifier's own consumer group
(``monitoring-service.notifier``, of ``monitoring.failure.v1``) and the dispatcher that sends its deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import Consumes, IngestDoor
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .notifications import workers as notifier
from .notifications.dispatcher import NotificationDispatcher
from .settings import MonitoringSettings, load_settings

__all__ = ["CONSUMER_GROUP", "CONSUMES", "build", "load_settings"]

CONSUMER_GROUP = "monitoring-service.consumers"  # the replicas; the notifier has a group of its own

# What the consumers below read (the AsyncAPI document; a test holds it equal to what ``build`` wires).
CONSUMES: list[Consumes | IngestDoor] = [replicas.consumes(), community_replica.consumes(), notifier.CONSUMES]


def build(settings: MonitoringSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    consumers = [
        *replicas.workers(settings.infra, sessionmaker),
        *community_replica.workers(settings.infra, sessionmaker),
    ]
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(CONSUMER_GROUP, consumers, settings.infra),
        # its own group: notifications neither wait behind nor hold up the replicas
        ConsumerGroup(notifier.GROUP, [notifier.runner(settings, sessionmaker)], settings.infra),
        NotificationDispatcher(settings, engine),
    ]
