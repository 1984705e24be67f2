"""Consumers create their input topics before subscribing, so the first message is read at once."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient

from gridcommons.kafka import ensure_topics
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack


async def test_ensure_topics_creates_missing_topics_once(stack: Stack) -> None:
    infra = InfraSettings(kafka_bootstrap_servers=stack.kafka_bootstrap)
    topics = (f"ensure.{uuid.uuid4().hex}.v1", f"ensure.{uuid.uuid4().hex}.v1")
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        assert not set(topics) & set(await admin.list_topics())
        await ensure_topics(infra, topics)
        await ensure_topics(infra, topics)  # existing topics: nothing to do, no error
        assert set(topics) <= set(await admin.list_topics())
    finally:
        await admin.close()
