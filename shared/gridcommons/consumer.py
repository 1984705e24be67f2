"""The consumer runner: a Kafka consumer group whose handler runs in one database transaction.

For each message: record ``(consumer, event id)`` in ``processed_events`` and run the handler in
the same transaction (a redelivered message finds its id and is skipped), commit the database,
then commit the offset. A message that keeps failing goes to ``<topic>.dlq`` with the error in
its headers, and the partition moves on; one that can never succeed goes there at once, without
retries: a ``PoisonMessage`` (bad JSON, a refused credential) or a ``ValidationFailed`` (a schema
error, a rule that refuses the input: ``dlq_error`` is ``ValidationFailed: <loc>: <msg>; ...``).
Connection errors (database or broker away) are retried and never dead-lettered.
Each message is handled in a CONSUMER span continuing its ``traceparent`` header
(``gridcommons.tracing.consuming``): the handler's log lines and events carry the producer's trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import String, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import unit_of_work
from .errors import ValidationFailed
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

# Kafka headers that carry a credential (the ingestion doors' bearer token): dropped from dead letters.
CREDENTIAL_HEADERS = frozenset({"authorization"})

log = logging.getLogger("gridcommons.consumer")

Handler = Callable[[AsyncSession, ConsumerRecord[bytes, bytes]], Awaitable[None]]
EventId = Callable[[ConsumerRecord[bytes, bytes]], str]
# Batch mode's optional handler: every new message of a batch in one call (e.g. one multi-row INSERT).
BatchHandler = Callable[[AsyncSession, Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]]


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
    """One consumer's handling of its topics: dedup key (``name``), handler, DLQ, retries.

    ``run()`` consumes with a Kafka consumer of its own (group ``name``); a worker process with
    several runners puts them in one ``ConsumerGroup`` instead (one Kafka consumer for all).
    ``batch_size`` > 1 is batch mode: up to that many messages of one partition in one
    transaction, deduplicated in one statement, one offset commit.
    """

    name: str  # the key in processed_events (and the consumer group id when run on its own)
    topics: tuple[str, ...]
    handler: Handler
    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Outbox
    infra: InfraSettings
    event_id: EventId = default_event_id
    max_attempts: int = 3
    batch_size: int = 1
    # Batch mode: called once with the batch's new messages instead of ``handler`` per message;
    # when the batch fails, its messages are redone one by one with ``handler``.
    batch_handler: BatchHandler | None = None

    poll_stale_after: float = 30.0  # seconds without a successful poll before health() says not ready

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._own: ConsumerGroup | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume on its own (group ``name``)."""
        if self._own is None:
            self._own = ConsumerGroup(self.name, (self,), self.infra, poll_stale_after=self.poll_stale_after)
        await self._own.run(stop)

    def health(self) -> dict[str, Any]:
        if self._own is None:
            return {
                "ready": False,
                "connected": False,
                "assigned_partitions": [],
                "lag": 0,
                "last_poll_seconds_ago": None,
            }
        return self._own.health()

    async def process(
        self, messages: Sequence[ConsumerRecord[bytes, bytes]], dlq: _DeadLetterProducer, stop: asyncio.Event
    ) -> bool:
        """Apply (or dead-letter) ``messages`` of one partition, in order; False if ``stop`` came
        first (then the caller commits nothing)."""
        if self.batch_size > 1 and len(messages) > 1:
            return await self._process_batch(messages, dlq, stop)
        for msg in messages:
            if stop.is_set() or not await self._process(msg, dlq, stop):
                return False
        return True

    async def _process_batch(
        self, messages: Sequence[ConsumerRecord[bytes, bytes]], dlq: _DeadLetterProducer, stop: asyncio.Event
    ) -> bool:
        """All messages in one transaction; a failure that is not transient rolls it back and the
        batch is redone one message at a time, so a poison message goes to the DLQ alone."""
        delay = 0.2
        while not stop.is_set():
            try:
                await self._handle_batch(messages)
                return True
            except Exception as exc:
                if _transient(exc) and not isinstance(exc, (PoisonMessage, ValidationFailed)):
                    log.warning(
                        "%s: transient failure (%s); retrying in %.1fs", self.name, exc.__class__.__name__, delay
                    )
                    await _pause(stop, delay)
                    delay = min(delay * 2, 5.0)
                    continue
                log.warning(
                    "%s: batch of %d failed (%s); applying its messages one by one",
                    self.name,
                    len(messages),
                    exc.__class__.__name__,
                )
                for msg in messages:
                    if stop.is_set() or not await self._process(msg, dlq, stop):
                        return False
                return True
        return False

    async def _handle_batch(self, messages: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        ids = [self.event_id(msg) for msg in messages]
        async with unit_of_work(self.sessionmaker) as session:
            fresh = set(await self._record(session, ids))
            new = []
            for msg, event_id in zip(messages, ids, strict=True):
                if event_id in fresh:  # else processed before, or a second copy in this batch
                    fresh.discard(event_id)
                    new.append(msg)
            if self.batch_handler is not None:
                if new:
                    await self.batch_handler(session, new)
                return
            for msg in new:
                with consuming(self.name, msg):  # each message in its producer's trace
                    await self._apply(session, msg)

    async def _record(self, session: AsyncSession, event_ids: Sequence[str]) -> list[str]:
        """Insert ``(name, id)`` into processed_events for every id in one statement; returns the
        ids that were not there (each once)."""
        t = self.outbox.processed_table
        stmt = (
            insert(t)
            .from_select(
                [t.c.consumer, t.c.event_id],
                select(literal(self.name, String), func.unnest(bindparam("ids", type_=ARRAY(String)))),
            )
            .on_conflict_do_nothing()
            .returning(t.c.event_id)
        )
        return list((await session.execute(stmt, {"ids": list(event_ids)})).scalars())

    async def _apply(self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        """The handler on one fresh message, inside the consumer's transaction."""
        await self.handler(session, msg)

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
                if _transient(exc) and not isinstance(exc, (PoisonMessage, ValidationFailed)):
                    if stop.is_set():
                        return False  # a database outage at shutdown is no reason to dead-letter
                    log.warning(
                        "%s: transient failure (%s); retrying in %.1fs", self.name, exc.__class__.__name__, delay
                    )
                    await _pause(stop, delay)
                    delay = min(delay * 2, 5.0)
                    attempt -= 1
                    continue
                if isinstance(exc, (PoisonMessage, ValidationFailed)) or attempt >= self.max_attempts:
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
            if not await self._record(session, [event_id]):
                log.info("%s: skipping already processed event %s", self.name, event_id)
                return
            await self._apply(session, msg)
            log.debug("%s: handled event %s", self.name, event_id)

    async def _dead_letter(
        self, msg: ConsumerRecord[bytes, bytes], exc: BaseException, dlq: _DeadLetterProducer, stop: asyncio.Event
    ) -> bool:
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        # A sender's credential never reaches a DLQ: whoever reads dead letters must not be able to replay it.
        headers = [(k, v) for k, v in msg.headers or () if k.lower() not in CREDENTIAL_HEADERS]
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


class ConsumerGroup:
    """One Kafka consumer (group ``name``) for every runner of a worker process, dispatching each
    message by topic to the runners that read it.

    Each runner keeps its own dedup key (``processed_events.consumer``), transaction, retries and
    dead letters; a message is handed to every runner of its topic before its offset is committed.
    Fetching is a long poll: the broker holds a fetch up to ``KAFKA_FETCH_MAX_WAIT_MS`` and
    answers as soon as a byte arrives (``fetch_min_bytes=1``), so an idle consumer costs a few
    requests a second and a new message is handed over at once.
    """

    def __init__(
        self,
        name: str,
        runners: Sequence[ConsumerRunner],
        infra: InfraSettings,
        *,
        poll_stale_after: float = 30.0,
        max_records: int = 500,
        fill_min_bytes: int = 1024 * 1024,
        fill_wait_ms: int = 1000,
    ):
        if not runners:
            raise ValueError("a consumer group needs at least one runner")
        names = [r.name for r in runners]
        if len(set(names)) != len(names):
            raise ValueError(f"runner names must be unique: {names}")
        self.name = name
        self.runners = tuple(runners)
        self.infra = infra
        self.poll_stale_after = poll_stale_after
        self.max_records = max_records
        # Batch mode only: a fetch of at least ``fill_min_bytes`` means a backlog, and brokers answer a
        # fetch with a few MiB whatever the consumer asks (the embedded broker ~5 MiB: 75 messages of
        # 70 kB), fewer messages than a batch takes; the next fetches (each within ``fill_wait_ms``)
        # complete the batch up to ``max_records``.
        self.fill_min_bytes = fill_min_bytes if any(r.batch_size > 1 for r in runners) else 0
        self.fill_wait_ms = fill_wait_ms
        self.by_topic: dict[str, tuple[ConsumerRunner, ...]] = {}
        for runner in self.runners:
            for topic in runner.topics:
                self.by_topic[topic] = self.by_topic.get(topic, ()) + (runner,)
        self.topics = tuple(self.by_topic)
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
                    batches = await consumer.getmany(timeout_ms=1000, max_records=self.max_records)
                    if self.fill_min_bytes and batches:
                        await self._fill(consumer, batches)
                except Exception as exc:  # coordinator moving: the consumer recovers by itself
                    log.warning("%s: fetch failed (%s: %s); retrying", self.name, exc.__class__.__name__, exc)
                    await _pause(stop, 1.0)
                    continue
                self._last_poll = time.monotonic()
                for tp, messages in batches.items():
                    if not await self._dispatch(consumer, tp, messages, dlq, stop):
                        return  # not committed: the group's next consumer starts from there
        finally:
            await self._close_consumer()
            await dlq.close()

    async def _fill(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Any]]) -> None:
        """Fetch again while the last fetch was a backlog's (``fill_min_bytes``) and the batches hold fewer
        than ``max_records`` messages; the messages are appended to ``batches`` in partition order."""
        last: dict[TopicPartition, list[Any]] = batches
        while sum(len(m.value or b"") for msgs in last.values() for m in msgs) >= self.fill_min_bytes:
            room = self.max_records - sum(len(msgs) for msgs in batches.values())
            if room <= 0:
                return
            last = await consumer.getmany(timeout_ms=self.fill_wait_ms, max_records=room)
            for tp, msgs in last.items():
                batches.setdefault(tp, []).extend(msgs)

    async def _dispatch(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        messages: list[ConsumerRecord[bytes, bytes]],
        dlq: _DeadLetterProducer,
        stop: asyncio.Event,
    ) -> bool:
        """Hand the partition's messages to its topic's runners, a slice at a time (the largest
        batch size among them), committing the offset after each slice."""
        runners = self.by_topic.get(tp.topic, ())
        step = max((r.batch_size for r in runners), default=len(messages)) or 1
        for start in range(0, len(messages), step):
            chunk = messages[start : start + step]
            for runner in runners:
                if stop.is_set() or not await runner.process(chunk, dlq, stop):
                    return False
            await self._commit(consumer, tp, chunk[-1].offset + 1)
            self._positions[tp] = chunk[-1].offset + 1
        return True

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
            "consumers": [r.name for r in self.runners],
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
