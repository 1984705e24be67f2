"""asset-service workers: the outbox relay, and one Kafka consumer (group ``asset-service.consumers``)
for the gateway replicas' consumer and the ingestion consumers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox, replicas
from .dispatches.workers import consumers as dispatch_consumers
from .settings import AssetSettings, load_settings
from .statuses.workers import consumers as status_consumers

__all__ = ["build", "load_settings"]


def build(settings: AssetSettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup(
            "asset-service.consumers",
            [
                *replicas.workers(settings.infra, sessionmaker),
                *status_consumers(settings, sessionmaker),
                *dispatch_consumers(settings, sessionmaker),
            ],
            settings.infra,
        ),
    ]
