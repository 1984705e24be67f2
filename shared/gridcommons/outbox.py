"""Transactional outbox: events are rows written in the domain transaction; a relay publishes them.

- ``Outbox.publish`` inserts the CloudEvent into ``<schema>.outbox`` inside the caller's
  session and queues a NOTIFY, which PostgreSQL delivers only if that transaction commits.
- ``OutboxRelay`` waits on LISTEN (with a slow poll as fallback), takes unpublished rows in
  order under a per-schema advisory lock (one publisher at a time keeps per-aggregate order;
  other replicas stand by), sends them, awaits every acknowledgement, then marks them sent.
  A broker outage rolls the batch back and backs off; rows wait safely in PostgreSQL.
  After a failure or a broken broker connection the producer is discarded (undelivered
  batches dropped, never retried into a restarted broker) and a new one is started: the
  embedded broker comes back empty and acknowledges, then loses, a batch retried on stale
  metadata (see ``gridcommons.kafka.watch_connection_loss``).
  Delivery is at-least-once: consumers deduplicate by event id.
- Tracing: ``publish`` writes the event in a PRODUCER span ("<topic> create") whose context goes
  into the envelope (``traceparent``/``tracestate``); the relay sends it in a PRODUCER span
  ("<topic> publish") continuing that context, as the ``traceparent`` header, with the envelope's
  values also as ``ce_traceparent``/``ce_tracestate`` (``gridcommons.tracing``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from opentelemetry.trace import SpanKind
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .db import asyncpg_dsn
from .events import CONTENT_TYPE, CloudEvent
from .kafka import make_producer, start_with_retry, stop_producer, watch_connection_loss
from .settings import InfraSettings
from .tracing import CE_TRACEPARENT, CE_TRACESTATE, TRACEPARENT, TRACESTATE, context_from, current_headers, tracer

log = logging.getLogger("gridcommons.outbox")


def kernel_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and the consumers' processed-event log, in a service's own schema."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=True),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(255), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, processed


class Outbox:
    """A service's outbox: where its events are written, and the NOTIFY channel of its relay."""

    def __init__(self, metadata: MetaData, *, source: str):
        assert metadata.schema, "service metadata must name its schema"
        self.schema: str = metadata.schema
        self.source = source
        self.table, self.processed_table = kernel_tables(metadata)
        self.channel = f"{self.schema}_outbox"
        # Stable 63-bit key for the relay's advisory lock.
        self.lock_key = int.from_bytes(hashlib.sha256(self.channel.encode()).digest()[:8], "big") >> 1

    def _row(self, event: CloudEvent, topic: str, key: str | None) -> dict[str, Any]:
        """The outbox row of one event (the relay reads ``payload`` back as a ``CloudEvent``)."""
        return {
            "event_id": event.id,
            "topic": topic,
            "key": key if key is not None else event.subject,
            "payload": event.model_dump(mode="json", exclude_none=True),
        }

    async def _notify(self, session: AsyncSession) -> None:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self.channel})

    async def publish(
        self,
        session: AsyncSession,
        *,
        topic: str,
        type: str,
        subject: str,
        data: Any,
        company_id: int | str | None,
        key: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        with tracer(self.source).start_as_current_span(f"{topic} create", kind=SpanKind.PRODUCER):
            trace_context = current_headers()
            event = CloudEvent(
                source=self.source,
                type=type,
                subject=subject,
                companyid=None if company_id is None else str(company_id),
                data=data,
                traceparent=trace_context.get(TRACEPARENT),
                tracestate=trace_context.get(TRACESTATE),
            )
            if time is not None:
                event.time = time
            await session.execute(insert(self.table).values(**self._row(event, topic, key)))
            await self._notify(session)
            log.debug("event %s (%s) written to the outbox", event.id, type)
        return event

    async def publish_many(
        self,
        session: AsyncSession,
        *,
        topic: str,
        type: str,
        company_id: int | str | None,
        events: Sequence[tuple[str, Any]],
    ) -> list[CloudEvent]:
        """``publish`` for many events of one topic and type: ``events`` are (subject = key, data) pairs,
        written in this order as one multi-row INSERT and one NOTIFY (no statement at all when empty).
        The rows are those ``publish`` writes one at a time: the relay cannot tell them apart."""
        if not events:
            return []
        companyid = None if company_id is None else str(company_id)
        with tracer(self.source).start_as_current_span(f"{topic} create", kind=SpanKind.PRODUCER):
            trace_context = current_headers()  # one span for the batch: every event carries it
            built = [
                CloudEvent(
                    source=self.source,
                    type=type,
                    subject=subject,
                    companyid=companyid,
                    data=data,
                    traceparent=trace_context.get(TRACEPARENT),
                    tracestate=trace_context.get(TRACESTATE),
                )
                for subject, data in events
            ]
            await session.execute(insert(self.table).values([self._row(event, topic, None) for event in built]))
            await self._notify(session)
            log.debug("%d events (%s) written to the outbox", len(built), type)
        return built


class OutboxRelay:
    """Publishes a service's outbox rows to Kafka. Run as a worker (see ``gridcommons.worker``)."""

    def __init__(
        self,
        outbox: Outbox,
        engine: AsyncEngine,
        infra: InfraSettings,
        *,
        batch_size: int = 500,
        poll_interval: float = 5.0,
    ):
        self.outbox = outbox
        self.engine = engine
        self.infra = infra
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self.name = f"outbox-relay[{outbox.schema}]"
        self._producer_up = False
        self._lost = asyncio.Event()
        self._last_round: float | None = None  # monotonic time of the last round that reached the database

    def health(self) -> dict[str, Any]:
        """Ready while its producer is connected and a round reached the database recently."""
        age = None if self._last_round is None else round(time.monotonic() - self._last_round, 3)
        connected = self._producer_up and not self._lost.is_set()
        stale_after = max(30.0, 3 * self.poll_interval)
        return {
            "ready": connected and age is not None and age <= stale_after,
            "connected": connected,
            "last_round_seconds_ago": age,
        }

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        producer: AIOKafkaProducer | None = None
        lost = asyncio.Event()
        backoff = 0.2
        try:
            while not stop.is_set():
                if producer is not None and lost.is_set():
                    # The broker dropped us (maybe restarted, empty): never reuse its metadata.
                    log.warning("%s: broker connection lost; rebuilding the producer", self.name)
                    await stop_producer(producer, flush_timeout=0)
                    producer = None
                if producer is None:
                    self._producer_up = False
                    producer, lost = await self._start_producer(stop)
                    if producer is None:
                        return
                    self._producer_up, self._lost = True, lost
                # Clear before reading: a NOTIFY that arrives while the batch runs wakes the next round.
                self._wake.clear()
                try:
                    sent = await self._publish_batch(producer, lost, stop)
                    backoff = 0.2
                    self._last_round = time.monotonic()
                except Exception as exc:
                    log.warning(
                        "%s: publish failed (%s: %s); retrying in %.1fs",
                        self.name,
                        exc.__class__.__name__,
                        exc,
                        backoff,
                    )
                    # Whatever the producer still holds is stale: the rows were rolled back and go again.
                    await stop_producer(producer, flush_timeout=0)
                    producer = None
                    self._producer_up = False
                    await self._sleep(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if sent >= self.batch_size:
                    continue
                await self._sleep(stop, self.poll_interval, wake=True)
        finally:
            listener.cancel()
            await asyncio.wait([listener], timeout=2)
            if producer is not None:
                await stop_producer(producer, flush_timeout=5.0)  # flushes what is in flight

    async def _start_producer(self, stop: asyncio.Event) -> tuple[AIOKafkaProducer | None, asyncio.Event]:
        lost = asyncio.Event()

        def factory() -> AIOKafkaProducer:
            nonlocal lost
            producer = make_producer(self.infra, client_id=self.name)
            lost = watch_connection_loss(producer)
            return producer

        producer = await start_with_retry(factory, stop, what=self.name)
        return producer, lost

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wake: bool = False) -> None:
        waits = [asyncio.ensure_future(stop.wait())]
        if wake:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        done, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN on the outbox channel; reconnects if the database goes away."""
        while not stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.infra.database_url))
                await conn.add_listener(self.outbox.channel, lambda *_: self._wake.set())
                self._wake.set()  # catch up on anything written while we were not listening
                while not stop.is_set() and not conn.is_closed():
                    await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: LISTEN connection failed (%s)", self.name, exc.__class__.__name__)
                await asyncio.sleep(2.0)
            finally:
                if conn is not None and not conn.is_closed():
                    try:
                        await conn.close()
                    except Exception:
                        pass

    async def _publish_batch(self, producer: AIOKafkaProducer, lost: asyncio.Event, stop: asyncio.Event) -> int:
        table = self.outbox.table
        async with self.engine.begin() as conn:
            locked = (
                await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self.outbox.lock_key})
            ).scalar()
            if not locked:
                return 0  # another replica is publishing; we stand by until the next wake-up
            rows = (
                await conn.execute(
                    text(
                        f'SELECT seq, topic, key, payload FROM "{self.outbox.schema}".outbox '
                        "WHERE published_at IS NULL ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"n": self.batch_size},
                )
            ).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                event = CloudEvent.model_validate(row.payload)
                futures.append(await self._send(producer, row.topic, row.key, event))
            await self._await_acks(futures, lost, stop)
            await conn.execute(
                table.update().where(table.c.seq.in_([r.seq for r in rows])).values(published_at=func.now())
            )
            return len(rows)

    async def _send(self, producer: AIOKafkaProducer, topic: str, key: str | None, event: CloudEvent) -> Any:
        """Send one event; an event written in a trace is sent in a span continuing it."""
        headers = [("content-type", CONTENT_TYPE.encode()), ("ce_id", event.id.encode())]
        value, raw_key = event.to_bytes(), key.encode() if key else None
        if event.traceparent is None:
            return await producer.send(topic, value=value, key=raw_key, headers=headers)
        parent = context_from(event.traceparent, event.tracestate)
        with tracer(self.name).start_as_current_span(
            f"{topic} publish", context=parent, kind=SpanKind.PRODUCER
        ) as span:
            if span.is_recording():
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.operation.type", "send")
                span.set_attribute("messaging.destination.name", topic)
                span.set_attribute("messaging.message.id", event.id)
            headers += [(k, v.encode()) for k, v in current_headers().items()]
            headers.append((CE_TRACEPARENT, event.traceparent.encode()))
            if event.tracestate:
                headers.append((CE_TRACESTATE, event.tracestate.encode()))
            future = await producer.send(topic, value=value, key=raw_key, headers=headers)
            log.debug("%s: sent event %s to %s", self.name, event.id, topic)
            return future

    async def _await_acks(self, futures: list[asyncio.Future[Any]], lost: asyncio.Event, stop: asyncio.Event) -> None:
        """Every acknowledgement, or an exception: the transaction then rolls back and the rows stay unpublished.

        Gives up at once when a broker connection breaks (a retry into a restarted, empty broker
        can be acknowledged and still lost); on ``stop`` it waits a short grace period for acks.
        """
        acks = asyncio.ensure_future(asyncio.gather(*futures))
        # Whatever happens to it (cancelled included), its outcome is retrieved: no "never retrieved" noise.
        acks.add_done_callback(lambda f: f.cancelled() or f.exception())
        watchers = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait([acks, *watchers], timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if not acks.done() and stop.is_set() and not lost.is_set():
                await asyncio.wait([acks, watchers[0]], timeout=5, return_when=asyncio.FIRST_COMPLETED)
            if acks.done():
                acks.result()  # raises the first failed send
                return
            if lost.is_set():
                raise KafkaConnectionError("broker connection lost before every message was acknowledged")
            raise TimeoutError("not every message was acknowledged in time")
        finally:
            for task in (acks, *watchers):
                if not task.done():
                    task.cancel()
