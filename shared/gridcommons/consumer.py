"""The consumer runner: a Kafka consumer group whose handler runs in one database transaction.

For each message: record ``(consumer, event id)`` in ``processed_events`` and run the handler in
the same transaction (a redelivered message finds its id and is skipped), commit the database,
then commit the offset. A message that keeps failing (bad JSON, schema error, a rule that
refuses it) goes to ``<topic>.dlq`` with the error in its headers, and the partition moves on.
Connection errors (database or broker away) are retried and never dead-lettered.
Each message is handled in a CONSUMER span continuing its ``traceparent`` header
(``gridcommons.tracing.consuming``): the handler's log lines and events carry the producer's trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import unit_of_work
from .kafka import (
    ensure_topics,
    make_consumer,
    make_producer,
    start_with_retry,
    stop_consumer,
    stop_producer,
    watch_connection_loss,
)
from .outbox import Outbox
from .settings import InfraSettings
from .tracing import consuming, mark_error

log = logging.getLogger("gridcommons.consumer")

Handler = Callable[[AsyncSession, ConsumerRecord[bytes, bytes]], Awaitable[None]]
EventId = Callable[[ConsumerRecord[bytes, bytes]], str]


class PoisonMessage(Exception):
    """The handler refuses this message for good: send it to the DLQ without retrying."""


def default_event_id(msg: ConsumerRecord[bytes, bytes]) -> str:
    """The CloudEvents ``ce_id`` header, else the message's position."""
    for name, value in msg.headers or ():
        if name == "ce_id" and value:
            return value.decode()
    return f"{msg.topic}:{msg.partition}:{msg.offset}"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, ConnectionError, asyncio.TimeoutError, InterfaceError)):
        return True
    if isinstance(exc, (OperationalError, DBAPIError)) and getattr(exc, "connection_invalidated", False):
        return True
    return isinstance(exc, OperationalError)


@dataclass
class ConsumerRunner:
    name: str  # consumer group id, also the key in processed_events
    topics: tuple[str, ...]
    handler: Handler
    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Outbox
    infra: InfraSettings
    event_id: EventId = default_event_id
    max_attempts: int = 3

    poll_stale_after: float = 30.0  # seconds without a successful poll before health() says not ready

    def __post_init__(self) -> None:
        self._consumer: AIOKafkaConsumer | None = None
        self._lost = asyncio.Event()
        self._last_poll: float | None = None  # monotonic time of the last successful fetch
        self._positions: dict[TopicPartition, int] = {}  # next offset to apply, per partition

    async def run(self, stop: asyncio.Event) -> None:
        dlq = _DeadLetterProducer(self.infra, f"{self.name}-dlq")
        try:
            while not stop.is_set():
                if self._consumer is not None and self._lost.is_set():
                    # The broker dropped us (maybe restarted, empty, without our topics or group):
                    # a consumer that rejoins on its old metadata can sit in the group with no
                    # partitions for good. Build a new one, as the outbox relay does with its producer.
                    log.warning("%s: broker connection lost; rebuilding the consumer", self.name)
                    await self._close_consumer(timeout=1.0)
                if self._consumer is None:
                    self._consumer = await self._start_consumer(stop)
                    if self._consumer is None:
                        return
                    log.info("%s: consuming %s", self.name, ", ".join(self.topics))
                consumer = self._consumer
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=200)
                except Exception as exc:  # coordinator moving: the consumer recovers by itself
                    log.warning("%s: fetch failed (%s: %s); retrying", self.name, exc.__class__.__name__, exc)
                    await _pause(stop, 1.0)
                    continue
                self._last_poll = time.monotonic()
                for tp, messages in batches.items():
                    for msg in messages:
                        if stop.is_set() or not await self._process(msg, dlq, stop):
                            return  # not committed: the group's next consumer starts from this message
                        await self._commit(consumer, tp, msg.offset + 1)
                        self._positions[tp] = msg.offset + 1
        finally:
            await self._close_consumer()
            await dlq.close()

    async def _start_consumer(self, stop: asyncio.Event) -> AIOKafkaConsumer | None:
        """Create the input topics (a restarted embedded broker has none), then join the group.

        Topic creation waits for the broker: a consumer that joins first makes the broker
        auto-create its topics with the broker's default partition count. Any other refusal
        (a policy, an ACL) is logged and the consumer starts anyway."""
        delay = 0.2
        while not stop.is_set():
            try:
                await asyncio.wait_for(ensure_topics(self.infra, self.topics), 10)
                break
            except (KafkaConnectionError, OSError) as exc:  # broker away (TimeoutError is an OSError)
                log.warning("%s: broker not reachable to create topics (%s)", self.name, exc.__class__.__name__)
                await _pause(stop, delay)
                delay = min(delay * 2, 2.0)
            except Exception as exc:
                log.warning("%s: could not create topics %s (%s)", self.name, self.topics, exc.__class__.__name__)
                break

        def factory() -> AIOKafkaConsumer:
            consumer = make_consumer(self.infra, *self.topics, group_id=self.name, client_id=self.name)
            self._lost = watch_connection_loss(consumer)
            return consumer

        self._positions = {}
        return await start_with_retry(factory, stop, what=self.name)

    async def _close_consumer(self, timeout: float = 5.0) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await stop_consumer(consumer, timeout)

    def health(self) -> dict[str, Any]:
        """Ready when connected, assigned at least one partition, and polled within ``poll_stale_after``.

        ``lag`` (messages on the broker not applied yet, from the last fetch's high watermark) is
        reported, not judged: a backlog is load, not a fault.
        """
        consumer = self._consumer
        connected = consumer is not None and not self._lost.is_set()
        assigned: list[TopicPartition] = []
        if consumer is not None and connected:
            assigned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        age = None if self._last_poll is None else round(time.monotonic() - self._last_poll, 3)
        lag = 0
        for tp in assigned:
            assert consumer is not None
            high = consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is not None and position is not None:
                lag += max(0, high - position)
        ready = connected and bool(assigned) and age is not None and age <= self.poll_stale_after
        return {
            "ready": ready,
            "connected": connected,
            "assigned_partitions": [f"{tp.topic}:{tp.partition}" for tp in assigned],
            "lag": lag,
            "last_poll_seconds_ago": age,
        }

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
        except Exception as exc:
            # After a rebalance the message may be redelivered; processed_events makes that harmless.
            log.warning("%s: offset commit failed (%s)", self.name, exc.__class__.__name__)

    async def _process(self, msg: ConsumerRecord[bytes, bytes], dlq: _DeadLetterProducer, stop: asyncio.Event) -> bool:
        """Handle the message or dead-letter it; False if ``stop`` came first (then nothing is committed)."""
        with consuming(self.name, msg):  # the message's trace: handler, log lines, DLQ
            return await self._attempts(msg, dlq, stop)

    async def _attempts(self, msg: ConsumerRecord[bytes, bytes], dlq: _DeadLetterProducer, stop: asyncio.Event) -> bool:
        attempt = 0
        delay = 0.2
        while True:
            attempt += 1
            try:
                await self._handle_once(msg)
                return True
            except Exception as exc:
                if _transient(exc) and not isinstance(exc, PoisonMessage):
                    if stop.is_set():
                        return False  # a database outage at shutdown is no reason to dead-letter
                    log.warning(
                        "%s: transient failure (%s); retrying in %.1fs", self.name, exc.__class__.__name__, delay
                    )
                    await _pause(stop, delay)
                    delay = min(delay * 2, 5.0)
                    attempt -= 1
                    continue
                if isinstance(exc, PoisonMessage) or attempt >= self.max_attempts:
                    return await self._dead_letter(msg, exc, dlq, stop)
                log.warning(
                    "%s: handler failed (%s), attempt %d of %d",
                    self.name,
                    exc.__class__.__name__,
                    attempt,
                    self.max_attempts,
                )
                await _pause(stop, 0.05 * attempt)

    async def _handle_once(self, msg: ConsumerRecord[bytes, bytes]) -> None:
        event_id = self.event_id(msg)
        async with unit_of_work(self.sessionmaker) as session:
            fresh = (
                await session.execute(
                    insert(self.outbox.processed_table)
                    .values(consumer=self.name, event_id=event_id)
                    .on_conflict_do_nothing()
                    .returning(self.outbox.processed_table.c.event_id)
                )
            ).first()
            if fresh is None:
                log.info("%s: skipping already processed event %s", self.name, event_id)
                return
            await self.handler(session, msg)
            log.debug("%s: handled event %s", self.name, event_id)

    async def _dead_letter(
        self, msg: ConsumerRecord[bytes, bytes], exc: BaseException, dlq: _DeadLetterProducer, stop: asyncio.Event
    ) -> bool:
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        headers: list[tuple[str, bytes]] = list(msg.headers or ())
        headers += [
            ("dlq_error", error.encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_source", f"{msg.topic}:{msg.partition}:{msg.offset}".encode()),
        ]
        mark_error(error)
        log.error(
            "%s: message %s:%s:%s sent to %s.dlq: %s", self.name, msg.topic, msg.partition, msg.offset, msg.topic, error
        )
        return await dlq.send(f"{msg.topic}.dlq", value=msg.value, key=msg.key, headers=headers, stop=stop)


class _DeadLetterProducer:
    """A producer for ``<topic>.dlq``, started on first use and rebuilt after a broken connection."""

    def __init__(self, infra: InfraSettings, client_id: str):
        self.infra = infra
        self.client_id = client_id
        self.producer: AIOKafkaProducer | None = None
        self.lost = asyncio.Event()

    def _factory(self) -> AIOKafkaProducer:
        producer = make_producer(self.infra, client_id=self.client_id)
        self.lost = watch_connection_loss(producer)
        return producer

    async def send(
        self,
        topic: str,
        *,
        value: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
        stop: asyncio.Event,
    ) -> bool:
        """Send and await the acknowledgement, retrying until it succeeds; False if ``stop`` came first."""
        while not stop.is_set():
            if self.producer is not None and self.lost.is_set():
                await self.close()
            if self.producer is None:
                self.producer = await start_with_retry(self._factory, stop, what=self.client_id)
                if self.producer is None:
                    return False
            try:
                ack = await self.producer.send(topic, value=value, key=key, headers=headers)
                lost = asyncio.ensure_future(self.lost.wait())
                await asyncio.wait([ack, lost], timeout=30, return_when=asyncio.FIRST_COMPLETED)
                lost.cancel()
                if ack.done():
                    ack.result()
                    return True
                # Not acknowledged before the connection broke: a retry into a restarted broker may be lost.
                raise KafkaConnectionError("DLQ send not acknowledged")
            except Exception as exc:
                log.warning("%s: DLQ send failed (%s); retrying", self.client_id, exc.__class__.__name__)
                await self.close()
                await _pause(stop, 1.0)
        return False

    async def close(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            await stop_producer(producer, flush_timeout=0 if self.lost.is_set() else 5.0)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, cut short by ``stop``."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def decode_json(msg: ConsumerRecord[bytes, bytes]) -> Any:
    """The message value as JSON; malformed JSON is a poison message."""
    import orjson

    try:
        return orjson.loads(msg.value or b"")
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"value is not JSON: {exc}") from exc
