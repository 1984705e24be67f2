"""Kafka helpers for tests: send CloudEvents to a topic of the test stack's broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import RecordMetadata

from ..events import CONTENT_TYPE
from ..kafka import make_producer
from ..settings import InfraSettings

Headers = list[tuple[str, bytes]]


async def produce(
    topic: str,
    messages: Sequence[tuple[bytes | None, bytes, str | None] | tuple[bytes | None, bytes, str | None, Headers]],
    *,
    client_id: str = "gridcommons-test-producer",
    headers: Headers | None = None,
    infra: InfraSettings | None = None,
) -> list[RecordMetadata]:
    """Send ``(key, value, ce_id[, headers])`` messages to ``topic`` in order as structured CloudEvents
    and wait until the broker has them all; the ``RecordMetadata`` of each, in order. ``headers``
    (e.g. an ingest credential) go on every message that brings no headers of its own."""
    producer = make_producer(infra or InfraSettings(), client_id=client_id)
    await producer.start()
    try:
        futures: list[Any] = []
        for message in messages:
            key, value, ce_id = message[0], message[1], message[2]
            extra: Headers = message[3] if len(message) > 3 else (headers or [])  # type: ignore[misc]
            sent = [("content-type", CONTENT_TYPE.encode())] + ([("ce_id", ce_id.encode())] if ce_id else [])
            futures.append(await producer.send(topic, value=value, key=key, headers=sent + list(extra)))
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


def topic_reader(*topics: str, group: bool = False, infra: InfraSettings | None = None) -> AIOKafkaConsumer:
    """A consumer that shares nothing with the code under test, reading ``topics`` from the
    beginning (start it, read, stop it). ``group=True`` joins a group of its own; without one it
    reads every partition at once (the embedded broker takes ~5 s to let a new member join)."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=(infra or InfraSettings()).kafka_bootstrap_servers,
        group_id=f"test-reader-{uuid.uuid4().hex[:10]}" if group else None,
        client_id="gridcommons-test-reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        metadata_max_age_ms=1000,
        retry_backoff_ms=100,
    )
