"""deal-service workers: the outbox relay (Kafka consumers come with their domains)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.outbox import OutboxRelay
from gridcommons.worker import Worker

from .db import outbox
from .settings import DealSettings, load_settings

__all__ = ["build", "load_settings"]


def build(settings: DealSettings, engine: AsyncEngine) -> Sequence[Worker]:
    return [OutboxRelay(outbox, engine, settings.infra)]
