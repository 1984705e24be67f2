"""Kafka consumers of this domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.worker import Worker

from ..settings import AssetSettings


def consumers(settings: AssetSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[Worker]:
    return []
