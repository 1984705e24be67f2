"""gateway workers: the outbox relay (publishes gateway.membership.v1 and gateway.token.v1), and one
Kafka consumer (group ``gateway.consumers``) keeping the community registry replica."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .auth.db import community_replica, outbox
from .settings import GatewaySettings, load_settings

__all__ = ["build", "load_settings"]


def build(settings: GatewaySettings, engine: AsyncEngine) -> Sequence[Worker]:
    sessionmaker = make_sessionmaker(engine)
    return [
        OutboxRelay(outbox, engine, settings.infra),
        ConsumerGroup("gateway.consumers", community_replica.workers(settings.infra, sessionmaker), settings.infra),
    ]
