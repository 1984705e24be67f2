"""A consumer worker that first makes sure its topics exist.

A consumer group that subscribes to a topic nobody has produced to yet only learns about it at its
next metadata refresh (minutes): creating the topic up front lets the first message be consumed at once.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from gridcommons.consumer import ConsumerRunner
from gridcommons.settings import InfraSettings

log = logging.getLogger("asset_service.kafka_topics")


async def ensure_topics(infra: InfraSettings, topics: tuple[str, ...], *, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, client_id="asset-service-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics if t not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class EnsureTopics:
    """Runs ``runner`` after creating its topics (best effort: on failure the runner starts anyway)."""

    def __init__(self, runner: ConsumerRunner, infra: InfraSettings):
        self.runner = runner
        self.infra = infra
        self.name = runner.name

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(ensure_topics(self.infra, self.runner.topics), 10)
        except Exception as exc:
            log.warning("%s: could not create topics %s (%s)", self.name, self.runner.topics, exc)
        await self.runner.run(stop)
