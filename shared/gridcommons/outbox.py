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
- The active relay of a schema also keeps its kernel tables bounded (``OutboxRelay.prune``):
  between publish rounds, at most every ``kernel_prune_interval_seconds``, it deletes published
  outbox rows older than ``outbox_retention_seconds`` and ``processed_events`` entries older than
  ``processed_events_retention_seconds``, ``kernel_prune_batch_size`` rows per statement, one
  short transaction each under the relay's advisory lock. Unpublished rows are never deleted.
- Tracing: ``publish`` writes the event in a PRODUCER span ("<topic> create") whose context goes
  into the envelope (``traceparent``/``tracestate``); the relay sends it in a PRODUCER span
  ("<topic> publish") continuing that context (one span for consecutive events of one creation span,
  e.g. a batch's ``publish_many``), as the ``traceparent`` header, with the envelope's
  values also as ``ce_traceparent``/``ce_tracestate`` (``gridcommons.tracing``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

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

from .db import listen
from .events import CONTENT_TYPE, CloudEvent, event_data
from .kafka import make_producer, start_with_retry, stop_producer, watch_connection_loss
from .serialization import json_text
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
        # The relay's pruning finds published rows past the retention window by this index.
        Index("ix_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(255), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_processed_events_processed_at", "processed_at"),
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
        self._insert_many = text(
            f'INSERT INTO "{self.schema}".outbox (event_id, topic, key, payload) '
            "SELECT e->>'event_id', e->>'topic', e->>'key', e->'payload' "
            "FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS x(e, n) ORDER BY n"
        )

    def _row(self, event: CloudEvent, topic: str, key: str | None) -> dict[str, Any]:
        """The outbox row of one event (the relay sends ``payload``'s JSON text as the message)."""
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
                data=event_data(data),
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
        written in this order by one INSERT executed for every row (executemany) and one NOTIFY (no
        statement at all when empty).
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
                    data=event_data(data),
                    traceparent=trace_context.get(TRACEPARENT),
                    tracestate=trace_context.get(TRACESTATE),
                )
                for subject, data in events
            ]
            # The rows as one JSON array (orjson) read by PostgreSQL in order: neither a statement compiled
            # per batch size nor parameters bound row by row (both cost more than writing the rows).
            rows = [self._row(event, topic, None) for event in built]
            await session.execute(self._insert_many, {"rows": json_text(rows)})
            await self._notify(session)
            log.debug("%d events (%s) written to the outbox", len(built), type)
        return built


# After a prune pass that yielded to new events, the next one starts this much later (seconds).
PRUNE_RESUME_SECONDS = 1.0


@dataclass(frozen=True)
class PruneResult:
    """What one ``OutboxRelay.prune`` pass removed; ``done`` is False when it yielded to new events
    (or to ``stop``) with old rows left, which the next pass deletes."""

    outbox: int = 0
    processed_events: int = 0
    done: bool = True


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
        self._next_prune = 0.0  # monotonic time the next prune pass is due

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
                if self._prune_due(backlog=sent >= self.batch_size):
                    await self._prune_quietly(stop)
                if sent >= self.batch_size:
                    continue
                await self._sleep(stop, self.poll_interval, wake=True)
        finally:
            listener.cancel()
            await asyncio.wait([listener], timeout=2)
            if producer is not None:
                await stop_producer(producer, flush_timeout=5.0)  # flushes what is in flight

    def _prune_due(self, *, backlog: bool) -> bool:
        """Due every prune interval between quiet rounds (a pass that yielded to new events resumes
        after ``PRUNE_RESUME_SECONDS``); with a standing backlog, one interval later than that
        (publishing comes first, but a relay that is never idle still prunes)."""
        now = time.monotonic()
        if backlog:
            return now >= self._next_prune + self.infra.kernel_prune_interval_seconds
        return now >= self._next_prune

    async def _prune_quietly(self, stop: asyncio.Event) -> None:
        try:
            result = await self.prune(stop)
        except Exception as exc:  # a database hiccup: the next publish round reports it; prune later
            log.warning("%s: pruning failed (%s: %s)", self.name, exc.__class__.__name__, exc)
            self._next_prune = time.monotonic() + self.infra.kernel_prune_interval_seconds
            return
        if result.outbox or result.processed_events:
            log.info(
                "%s: pruned %d published outbox rows, %d processed_events entries",
                self.name,
                result.outbox,
                result.processed_events,
            )
        interval = self.infra.kernel_prune_interval_seconds
        # A pass that yielded with old rows left (a catch-up after an upgrade or a long stop) goes on
        # soon, at most one batch per table per PRUNE_RESUME_SECONDS while events keep arriving.
        self._next_prune = time.monotonic() + (interval if result.done else min(interval, PRUNE_RESUME_SECONDS))

    async def prune(self, stop: asyncio.Event | None = None) -> PruneResult:
        """Delete published outbox rows past ``outbox_retention_seconds`` and processed_events
        entries past ``processed_events_retention_seconds`` (database clock), oldest first.

        ``kernel_prune_batch_size`` rows per DELETE, each in its own short transaction that holds
        the relay's advisory lock (one pruner per schema; a replica that does not get the lock
        leaves the work to the one that has it). Both lookups go by index (partial index on
        ``published_at``, index on ``processed_at``). A row with ``published_at IS NULL`` never
        matches, whatever its age. After each table's first batch it yields to new events (a
        NOTIFY) and to ``stop``: the result is then not ``done`` and the next pass continues.
        """
        schema = self.outbox.schema
        statements = (
            (
                f'WITH doomed AS (SELECT seq FROM "{schema}".outbox '
                "WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => :keep) "
                "ORDER BY published_at LIMIT :n) "
                f'DELETE FROM "{schema}".outbox AS o USING doomed WHERE o.seq = doomed.seq',
                self.infra.outbox_retention_seconds,
            ),
            (
                f'WITH doomed AS (SELECT consumer, event_id FROM "{schema}".processed_events '
                "WHERE processed_at < now() - make_interval(secs => :keep) "
                "ORDER BY processed_at LIMIT :n) "
                f'DELETE FROM "{schema}".processed_events AS p USING doomed '
                "WHERE p.consumer = doomed.consumer AND p.event_id = doomed.event_id",
                self.infra.processed_events_retention_seconds,
            ),
        )
        batch = self.infra.kernel_prune_batch_size
        removed = [0, 0]
        for i, (sql, keep) in enumerate(statements):
            first = True
            while True:
                if not first and (self._wake.is_set() or (stop is not None and stop.is_set())):
                    return PruneResult(removed[0], removed[1], done=False)
                first = False
                async with self.engine.begin() as conn:
                    locked = (
                        await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self.outbox.lock_key})
                    ).scalar()
                    if not locked:
                        return PruneResult(removed[0], removed[1])  # the lock holder prunes
                    count = (await conn.execute(text(sql), {"keep": float(keep), "n": batch})).rowcount
                removed[i] += count
                if count < batch:
                    break
        return PruneResult(removed[0], removed[1])

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
        """LISTEN on the outbox channel (``gridcommons.db.listen``); each (re)connection wakes the
        relay to catch up on anything written while nobody listened."""
        await listen(
            self.infra.database_url,
            self.outbox.channel,
            lambda _payload: self._wake.set(),
            stop,
            name=self.name,
            on_connected=self._wake.set,
        )

    async def _publish_batch(self, producer: AIOKafkaProducer, lost: asyncio.Event, stop: asyncio.Event) -> int:
        table = self.outbox.table
        async with self.engine.begin() as conn:
            locked = (
                await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self.outbox.lock_key})
            ).scalar()
            if not locked:
                return 0  # another replica is publishing; we stand by until the next wake-up
            # The stored envelope's JSON text is the message (no decoding and encoding again per event).
            rows = (
                await conn.execute(
                    text(
                        "SELECT seq, topic, key, payload::text AS value, payload->>'id' AS id, "
                        "payload->>'traceparent' AS traceparent, payload->>'tracestate' AS tracestate "
                        f'FROM "{self.outbox.schema}".outbox '
                        "WHERE published_at IS NULL ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"n": self.batch_size},
                )
            ).all()
            if not rows:
                return 0
            futures: list[Any] = []
            # Consecutive events written in one span (a batch's events) are sent in one span continuing it.
            for (topic, traceparent, tracestate), same in groupby(
                rows, key=lambda r: (r.topic, r.traceparent, r.tracestate)
            ):
                futures += await self._send(producer, topic, traceparent, tracestate, list(same))
            await self._await_acks(futures, lost, stop)
            await conn.execute(
                table.update().where(table.c.seq.in_([r.seq for r in rows])).values(published_at=func.now())
            )
            return len(rows)

    async def _send(
        self, producer: AIOKafkaProducer, topic: str, traceparent: str | None, tracestate: str | None, rows: list[Any]
    ) -> list[Any]:
        """Send the events of ``rows`` (one topic); events written in a trace are sent in a span continuing it."""
        base = [("content-type", CONTENT_TYPE.encode())]
        if traceparent is None:
            return [await self._send_one(producer, topic, row, base) for row in rows]
        parent = context_from(traceparent, tracestate)
        with tracer(self.name).start_as_current_span(
            f"{topic} publish", context=parent, kind=SpanKind.PRODUCER
        ) as span:
            if span.is_recording():
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.operation.type", "send")
                span.set_attribute("messaging.destination.name", topic)
                if len(rows) == 1:
                    span.set_attribute("messaging.message.id", rows[0].id)
                else:
                    span.set_attribute("messaging.batch.message_count", len(rows))
            base += [(k, v.encode()) for k, v in current_headers().items()]
            base.append((CE_TRACEPARENT, traceparent.encode()))
            if tracestate:
                base.append((CE_TRACESTATE, tracestate.encode()))
            return [await self._send_one(producer, topic, row, base) for row in rows]

    async def _send_one(self, producer: AIOKafkaProducer, topic: str, row: Any, headers: list[Any]) -> Any:
        future = await producer.send(
            topic,
            value=row.value.encode(),
            key=row.key.encode() if row.key else None,
            headers=[*headers, ("ce_id", row.id.encode())],
        )
        log.debug("%s: sent event %s to %s", self.name, row.id, topic)
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
