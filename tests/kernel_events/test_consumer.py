"""ConsumerRunner: idempotent effects, dead letters, offsets committed after the database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridcommons.app import create_service_app
from gridcommons.consumer import ConsumerRunner, Handler, decode_json
from gridcommons.db import unit_of_work
from gridcommons.devstack import free_port
from gridcommons.errors import ValidationFailed, field_error
from gridcommons.events import CloudEvent
from gridcommons.outbox import OutboxRelay
from gridcommons.settings import InfraSettings, ServiceSettings
from gridcommons.testing.asyncapi import record_errors
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import Stack
from gridcommons.worker import serve_health

from .conftest import KernelSchema, collect, drain, header, unique, wait_for


def cloud_event(n: int, *, subject: str = "dev-1", **data: object) -> CloudEvent:
    return CloudEvent(
        source="/tests/producer", type="org.gridcommons.test.reading", subject=subject, data={"n": n, **data}
    )


class Recorder:
    """The handler under test: one ``effects`` row per event; ``fail`` in the data raises ValueError."""

    def __init__(self, ks: KernelSchema):
        self.ks = ks
        self.calls: Counter[int] = Counter()

    async def __call__(self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        body = decode_json(msg)  # PoisonMessage on bad JSON
        self.calls[msg.offset] += 1
        await session.execute(
            self.ks.effects.insert().values(
                event_id=body["id"], topic=msg.topic, kafka_offset=msg.offset, body=orjson.dumps(body["data"]).decode()
            )
        )
        if body["data"].get("fail"):
            raise ValueError(f"refusing reading {body['data']['n']}")


async def effect_ids(engine: AsyncEngine, ks: KernelSchema) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(ks.effects.c.event_id).order_by(ks.effects.c.id))).scalars())


async def ignore(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
    pass


def runner(
    ks: KernelSchema, infra: InfraSettings, topic: str, handler: Handler, max_attempts: int = 3
) -> ConsumerRunner:
    return ConsumerRunner(
        name=f"kernel-test-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=handler,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=infra,
        max_attempts=max_attempts,
    )


async def stop_runner(stop: asyncio.Event, task: asyncio.Task[None], seconds: float = 5.0) -> float:
    stop.set()
    t0 = time.monotonic()
    await asyncio.wait_for(task, seconds)
    return time.monotonic() - t0


async def test_redelivered_message_has_one_effect(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.dedupe")
    twice, after = cloud_event(1), cloud_event(2)
    # The same CloudEvent bytes twice (a relay re-sent after a crash), then another event.
    await produce(
        topic,
        infra=infra,
        messages=[
            (b"dev-1", twice.to_bytes(), twice.id),
            (b"dev-1", twice.to_bytes(), twice.id),
            (b"dev-1", after.to_bytes(), after.id),
        ],
    )
    handler = Recorder(ks)
    run = runner(ks, infra, topic, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    try:
        await wait_for(lambda: _has(engine, ks, after.id), timeout=20)
    finally:
        shutdown = await stop_runner(stop, task)
    print(f"\nrunner stopped in {shutdown * 1000:.0f} ms")
    assert await effect_ids(engine, ks) == [twice.id, after.id]
    assert handler.calls == {0: 1, 2: 1}  # offset 1, the redelivery, never reached the handler
    async with engine.connect() as conn:
        processed = (
            await conn.execute(
                select(ks.outbox.processed_table.c.event_id).where(ks.outbox.processed_table.c.consumer == run.name)
            )
        ).scalars()
        assert sorted(processed) == sorted([twice.id, after.id])


async def _has(engine: AsyncEngine, ks: KernelSchema, event_id: str) -> bool:
    return event_id in await effect_ids(engine, ks)


async def test_poison_and_failing_messages_go_to_the_dlq_and_offsets_follow_the_database(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.dlq")
    good1, failing, good2 = cloud_event(1), cloud_event(2, fail=True), cloud_event(3)
    # One key: one partition, so the order below is the order of processing.
    metas = await produce(
        topic,
        infra=infra,
        messages=[
            (b"dev-1", good1.to_bytes(), good1.id),
            (b"dev-1", b"{not json", None),
            (b"dev-1", failing.to_bytes(), failing.id),
            (b"dev-1", good2.to_bytes(), good2.id),
        ],
    )
    tp = metas[0].topic_partition
    assert [m.offset for m in metas] == [0, 1, 2, 3] and {m.topic_partition for m in metas} == {tp}

    dlq_reader = topic_reader(f"{topic}.dlq", infra=infra)
    await dlq_reader.start()
    handler = Recorder(ks)
    run = runner(ks, infra, topic, handler, max_attempts=3)
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    try:
        await wait_for(lambda: _has(engine, ks, good2.id), timeout=20)
        dead = await collect(dlq_reader, lambda m: True, count=2, timeout=10)
        dead += await drain(dlq_reader, 0.5)
    finally:
        shutdown = await stop_runner(stop, task)
        await dlq_reader.stop()
    print(f"\nrunner stopped in {shutdown * 1000:.0f} ms")

    # (b) the poison message: straight to the DLQ, never retried, and the next message was processed.
    # (c) the ValueError: max_attempts tries, each rolled back, then the DLQ.
    assert handler.calls == {0: 1, 2: 3, 3: 1}
    assert await effect_ids(engine, ks) == [good1.id, good2.id]
    assert len(dead) == 2
    poison, refused = dead
    assert poison.value == b"{not json" and poison.key == b"dev-1"
    assert header(poison, "dlq_error").decode().startswith("PoisonMessage: value is not JSON")
    assert header(poison, "dlq_consumer") == run.name.encode()
    assert record_errors("deadLetter", poison.value, poison.headers) == []  # as the AsyncAPI document says
    assert header(poison, "dlq_source") == f"{topic}:{tp.partition}:1".encode()
    assert refused.value == failing.to_bytes()
    assert header(refused, "ce_id") == failing.id.encode()  # the original headers travel along
    assert header(refused, "dlq_error") == b"ValueError: refusing reading 2"
    assert header(refused, "dlq_source") == f"{topic}:{tp.partition}:2".encode()

    # (d) offsets were committed after each database commit: the group resumes after the last message.
    again = AIOKafkaConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=run.name,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await again.start()
    try:
        assert await again.committed(tp) == metas[-1].offset + 1
        again.assign([tp])  # starts from the group's committed offset (no rebalance wait)
        redelivered = await drain(again, 1.0)
    finally:
        await again.stop()
    assert redelivered == []


async def test_runner_survives_a_broker_outage(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings, stack: Stack
) -> None:
    ks = kernel_schema
    topic = unique("kernel.outage")
    before, after = cloud_event(1), cloud_event(2)
    await produce(topic, infra=infra, messages=[(b"dev-1", before.to_bytes(), before.id)])
    handler = Recorder(ks)
    run = runner(ks, infra, topic, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    # Two more workers, to be stopped while the broker is away: a runner and a relay with work to do.
    other_stop = asyncio.Event()
    others = [
        asyncio.create_task(runner(ks, infra, topic, ignore).run(other_stop)),
        asyncio.create_task(OutboxRelay(ks.outbox, engine, infra, poll_interval=0.5).run(other_stop)),
    ]
    try:
        await wait_for(lambda: _has(engine, ks, before.id), timeout=20)
        stack.stop_broker()
        try:
            async with unit_of_work(ks.sessionmaker) as session:
                await ks.outbox.publish(session, topic=topic, type="t", subject="s", data={}, company_id=None)
            await asyncio.sleep(2.0)  # the runners poll and the relay retries a broker that is not there
            assert not task.done() and not any(t.done() for t in others)
            other_stop.set()
            t0 = time.monotonic()
            done, pending = await asyncio.wait(others, timeout=8)
            stopped_in_outage = time.monotonic() - t0
            assert not pending, "a worker did not stop while the broker was away"
            for t in done:
                t.result()
            async with engine.connect() as conn:
                assert (await conn.execute(select(ks.outbox.table.c.published_at))).scalar_one() is None
        finally:
            other_stop.set()
            stack.start_broker()
        restarted = time.monotonic()
        # Memory storage: the topic starts empty again; the event lands at offset 0.
        await produce(topic, infra=infra, messages=[(b"dev-1", after.to_bytes(), after.id)])
        await wait_for(lambda: _has(engine, ks, after.id), timeout=45, step=0.2)
        resumed = time.monotonic() - restarted
    finally:
        shutdown = await stop_runner(stop, task, 10.0)
    print(
        f"\nrunner resumed {resumed:.1f} s after broker restart; stopped in {shutdown * 1000:.0f} ms; "
        f"runner + relay stopped during the outage in {stopped_in_outage * 1000:.0f} ms"
    )
    assert await effect_ids(engine, ks) == [before.id, after.id]


async def test_validation_failed_goes_to_the_dlq_at_once_with_its_reason(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    """A handler (a service rule) raises the kernel's ValidationFailed: no retry, one dead letter whose
    ``dlq_error`` lists the offending items; the next message is processed."""
    ks = kernel_schema
    topic = unique("kernel.refused")
    refused, good = cloud_event(1, refuse=True), cloud_event(2)
    await produce(
        topic, [(b"dev-1", refused.to_bytes(), refused.id), (b"dev-1", good.to_bytes(), good.id)], infra=infra
    )
    calls: Counter[str] = Counter()

    async def handler(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        body = decode_json(msg)
        calls[body["id"]] += 1
        await session.execute(
            ks.effects.insert().values(event_id=body["id"], topic=msg.topic, kafka_offset=msg.offset, body=None)
        )
        if body["data"].get("refuse"):
            raise ValidationFailed(
                [
                    field_error(["asset_id"], "unknown asset id DE_X", "DE_X"),
                    field_error(["statuses", 0, "status"], "unknown status", "MAYBE"),
                ]
            )

    dlq_reader = topic_reader(f"{topic}.dlq", infra=infra)
    await dlq_reader.start()
    stop = asyncio.Event()
    task = asyncio.create_task(runner(ks, infra, topic, handler, max_attempts=3).run(stop))
    try:
        await wait_for(lambda: _has(engine, ks, good.id), timeout=20)
        dead = await collect(dlq_reader, lambda m: True, count=1, timeout=10)
        dead += await drain(dlq_reader, 0.5)
    finally:
        await stop_runner(stop, task)
        await dlq_reader.stop()
    assert calls == {refused.id: 1, good.id: 1}  # refused for good: not retried
    assert await effect_ids(engine, ks) == [good.id]  # its transaction rolled back
    assert len(dead) == 1 and dead[0].value == refused.to_bytes()
    assert header(dead[0], "dlq_error") == (
        b"ValidationFailed: asset_id: unknown asset id DE_X; statuses.0.status: unknown status"
    )


async def _readyz(client: httpx.AsyncClient, url: str) -> tuple[int, dict[str, object]]:
    try:
        resp = await client.get(url)
    except httpx.ConnectError:  # the health endpoint is not listening yet
        return 0, {}
    return resp.status_code, resp.json()


async def test_runner_rebuilds_its_consumer_after_a_broker_restart_and_readiness_follows(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings, stack: Stack
) -> None:
    """The restarted (empty) broker is up before anything is produced again: a consumer that only
    rejoins keeps an empty assignment; the runner builds a new one and applies the next message.
    Readiness, from the worker process's endpoint and the API's /readyz, is 503 meanwhile."""
    ks = kernel_schema
    topic = unique("kernel.restart")
    before, after = cloud_event(1), cloud_event(2)
    run = runner(ks, infra, topic, Recorder(ks))
    stop = asyncio.Event()
    port = free_port()
    app = create_service_app(
        name="kernel-readiness",
        title="readiness",
        settings=ServiceSettings(),
        routers=[],
        workers=lambda settings, engine: [run],
        run_workers_in_process=True,
        configure_logs=False,
    )
    health = asyncio.create_task(serve_health([run], "127.0.0.1", port, stop))
    worker_readyz = f"http://127.0.0.1:{port}/readyz"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(trust_env=False) as http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as api,
    ):

        async def ready(want: bool) -> bool:
            worker_ok = (await _readyz(http, worker_readyz))[0] == 200
            api_ok = (await _readyz(api, "/readyz"))[0] == 200
            return worker_ok == want and api_ok == want

        try:
            await wait_for(lambda: ready(True), timeout=30, step=0.2)
            status, body = await _readyz(http, worker_readyz)
            check = body["workers"][run.name]  # type: ignore[index]
            assert check["assigned_partitions"] == [f"{topic}:0"] and check["connected"] is True, body
            await produce(topic, infra=infra, messages=[(b"dev-1", before.to_bytes(), before.id)])
            await wait_for(lambda: _has(engine, ks, before.id), timeout=20)

            stack.stop_broker()
            try:
                await wait_for(lambda: ready(False), timeout=15, step=0.2)
                status, body = await _readyz(api, "/readyz")
                assert status == 503 and body["checks"]["database"] == "ok", body  # type: ignore[index]
                assert body["checks"]["workers"][run.name]["ready"] is False, body  # type: ignore[index]
                # Away long enough for the consumer's own reconnects to fail: without a new
                # consumer, the old one came back to a stale assignment and applied nothing.
                await asyncio.sleep(8)
            finally:
                stack.start_broker()
            # Ready again only once the new consumer holds the partition of the re-created topic.
            await wait_for(lambda: ready(True), timeout=60, step=0.2)
            assert run.health()["assigned_partitions"] == [f"{topic}:0"]
            # Only now is anything produced: nothing re-creates the topic for the consumer.
            await produce(topic, infra=infra, messages=[(b"dev-1", after.to_bytes(), after.id)])
            await wait_for(lambda: _has(engine, ks, after.id), timeout=30, step=0.2)
            assert (await _readyz(http, worker_readyz))[0] == 200
        finally:
            stop.set()
            await asyncio.wait_for(health, 5)
    assert await effect_ids(engine, ks) == [before.id, after.id]
