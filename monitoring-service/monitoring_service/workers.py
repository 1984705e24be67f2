"""monitoring-service workers: the outbox relay, and one Kafka consumer (group ``monitoring-service.consumers``) for the
gateway replicas and the community registry replica."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import community_replica, outbox, replicas
from .settings import MonitoringSettings, load_settings

__all__ = ["build", "load_settings"]


def build(settings: MonitoringSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    consumers = [
        *replicas.workers(settings.infra, sessionmaker),
        *community_replica.workers(settings.infra, sessionmaker),
    ]
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup("monitoring-service.consumers", consumers, settings.infra),
    ]
