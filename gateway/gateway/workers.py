"""gateway workers: the outbox relay (publishes gateway.membership.v1)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .auth.db import outbox
from .settings import GatewaySettings, load_settings

__all__ = ["build", "load_settings"]


def build(settings: GatewaySettings, engine: AsyncEngine) -> Sequence[Worker]:
    return [OutboxRelay(outbox, engine, settings.infra)]
