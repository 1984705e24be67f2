"""aiokafka producers and consumers configured from the infrastructure settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import CloseReason

from .settings import InfraSettings

log = logging.getLogger("gridcommons.kafka")
C = TypeVar("C", AIOKafkaProducer, AIOKafkaConsumer)


def security_options(infra: InfraSettings) -> dict[str, Any]:
    """Connection security for every client the kernel builds (producers, consumers, admin):
    PLAINTEXT for the loopback-only embedded broker, SASL/SCRAM (over TLS with SASL_SSL) for
    Apache Kafka. See deploy/README.md "Kafka security"."""
    protocol = infra.kafka_security_protocol.upper()
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        secret = infra.kafka_sasl_secret()
        if not infra.kafka_sasl_username or not secret:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE)"
            )
        options |= {
            "sasl_mechanism": infra.kafka_sasl_mechanism,
            "sasl_plain_username": infra.kafka_sasl_username,
            "sasl_plain_password": secret,
        }
    if protocol.endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        cafile = str(infra.kafka_ssl_cafile) if infra.kafka_ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options


def make_producer(infra: InfraSettings, *, client_id: str) -> AIOKafkaProducer:
    idempotent = infra.kafka_idempotence
    return AIOKafkaProducer(
        **security_options(infra),
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
        **security_options(infra),
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=infra.kafka_fetch_max_wait_ms,
        fetch_min_bytes=1,
        max_partition_fetch_bytes=infra.kafka_max_partition_fetch_bytes,
        fetch_max_bytes=max(infra.kafka_max_partition_fetch_bytes, 50 * 1024 * 1024),
        retry_backoff_ms=200,
    )


def watch_connection_loss(client: AIOKafkaProducer | AIOKafkaConsumer) -> asyncio.Event:
    """An event set when one of the client's broker connections breaks (call before ``start()``).

    A broken connection means the broker went away, maybe to come back empty: the embedded
    broker keeps topics in memory, and a batch that aiokafka retries into the restarted broker
    before its metadata is refreshed is acknowledged but never readable. Whoever owns the
    producer treats a set event as "this producer is stale": abort it and build a new one.
    """
    lost = asyncio.Event()
    # The AIOKafkaClient inside (a producer's ``client``, a consumer's ``_client``).
    kafka_client = client.client if isinstance(client, AIOKafkaProducer) else client._client
    on_closed_original = kafka_client._on_connection_closed
    get_conn_original = kafka_client._get_conn

    def on_closed(conn: Any, reason: Any) -> None:
        if reason in (CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT):
            lost.set()
        on_closed_original(conn, reason)

    async def get_conn(*args: Any, **kwargs: Any) -> Any:
        conn = await get_conn_original(*args, **kwargs)
        if conn is None:  # could not connect: the broker is away
            lost.set()
        return conn

    # Both are looked up on the client instance at each use.
    kafka_client._on_connection_closed = on_closed
    kafka_client._get_conn = get_conn
    return lost


async def stop_producer(producer: AIOKafkaProducer, *, flush_timeout: float = 5.0) -> None:
    """Stop a producer without hanging on a broker that is away.

    Waits up to ``flush_timeout`` seconds for messages in flight, then drops what is left
    (``flush_timeout=0``: drop at once). ``AIOKafkaProducer.stop()`` alone waits until every
    batch is delivered or expires, and would hand a stale batch to a restarted broker.
    """
    if flush_timeout > 0:
        try:
            await asyncio.wait_for(producer.flush(), flush_timeout)
        except Exception:  # timeout or failed batches: nothing more to wait for
            pass
    sender = getattr(producer, "_sender", None)
    task = getattr(sender, "sender_task", None)
    if task is not None and not task.done():
        task.cancel()  # abandon undelivered batches: their futures stay pending, nobody waits on them
        await asyncio.wait([task], timeout=2)
    await _bounded(producer.stop(), 5.0, "producer")


async def stop_consumer(consumer: AIOKafkaConsumer, timeout: float = 5.0) -> None:
    """``AIOKafkaConsumer.stop()`` bounded in time (leaving the group waits on an absent broker)."""
    await _bounded(consumer.stop(), timeout, "consumer")


async def _bounded(stopping: Awaitable[None], timeout: float, what: str) -> None:
    """Await a client's stop() for at most ``timeout`` s; its own errors (aiokafka can leak a
    CancelledError of an inner task while the broker is away) are logged, never raised."""
    try:
        await asyncio.wait_for(stopping, timeout)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are being cancelled ourselves
        log.warning("%s stop interrupted", what)
    except Exception as exc:
        log.warning("%s stop failed (%s)", what, exc.__class__.__name__)


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
            delay = min(delay * 2, 2.0)
    return None


async def ensure_topics(infra: InfraSettings, topics: tuple[str, ...], *, partitions: int = 1) -> None:
    """Create the topics that do not exist yet.

    A consumer group subscribed to a topic nobody has produced to yet only learns about it at its
    next metadata refresh (minutes); creating it up front lets the first message be consumed at once.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(
        **security_options(infra), bootstrap_servers=infra.kafka_bootstrap_servers, client_id="gridcommons-admin"
    )
    try:
        await admin.start()  # inside the try: a client whose start failed is closed too
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(t, num_partitions=partitions, replication_factor=infra.kafka_replication_factor)
            for t in topics
            if t not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
