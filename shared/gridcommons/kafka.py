"""aiokafka producers and consumers configured from the infrastructure settings."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from .settings import InfraSettings

log = logging.getLogger("gridcommons.kafka")
C = TypeVar("C", AIOKafkaProducer, AIOKafkaConsumer)


def make_producer(infra: InfraSettings, *, client_id: str) -> AIOKafkaProducer:
    idempotent = infra.kafka_idempotence
    return AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        client_id=client_id,
        enable_idempotence=idempotent,
        acks="all" if idempotent else 1,
        linger_ms=5,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


def make_consumer(infra: InfraSettings, *topics: str, group_id: str, client_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=infra.kafka_fetch_max_wait_ms,
        retry_backoff_ms=200,
    )


async def start_with_retry(factory: Callable[[], C], stop: asyncio.Event, *, what: str) -> C | None:
    """Build and start a client, retrying with capped exponential back-off while the broker is away.

    A client whose start() failed is discarded (aiokafka clients are not restartable).
    Returns None if ``stop`` was set before a client could start.
    """
    delay = 0.2
    while not stop.is_set():
        client = factory()
        try:
            await client.start()
            return client
        except Exception as exc:  # broker unreachable: keep trying, never crash the worker
            log.warning("%s: broker not reachable (%s); retrying in %.1fs", what, exc.__class__.__name__, delay)
            try:
                await client.stop()
            except Exception:
                pass
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 5.0)
    return None


async def broker_reachable(infra: InfraSettings, timeout: float = 1.0) -> bool:
    """A TCP connect to every bootstrap address (what /readyz needs: is the broker there)."""
    for addr in infra.kafka_bootstrap_servers.split(","):
        host, _, port = addr.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout)
            writer.close()
            return True
        except (OSError, TimeoutError, ValueError):
            continue
    return False
