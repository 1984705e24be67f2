"""ConsumerRunner batch mode and ConsumerGroup (one Kafka consumer for a worker's runners)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridcommons.consumer import ConsumerGroup, ConsumerRunner, Handler, decode_json
from gridcommons.settings import InfraSettings
from gridcommons.testing.kafka import topic_reader

from .conftest import KernelSchema, collect, drain, header, unique, wait_for
from .test_consumer import cloud_event, effect_ids, produce, stop_runner


class TxRecorder:
    """One ``effects`` row per event (its body holds the transaction id it was written in);
    ``fail`` in the data raises ValueError; bad JSON is a poison message."""

    def __init__(self, ks: KernelSchema):
        self.ks = ks
        self.calls: Counter[str] = Counter()  # event id -> handler calls (rolled-back ones included)

    async def __call__(self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        body = decode_json(msg)
        self.calls[body["id"]] += 1
        tx = (await session.execute(text("SELECT txid_current()"))).scalar_one()
        await session.execute(
            self.ks.effects.insert().values(
                event_id=body["id"], topic=msg.topic, kafka_offset=msg.offset, body=orjson.dumps({"tx": tx}).decode()
            )
        )
        if body["data"].get("fail"):
            raise ValueError(f"refusing reading {body['data']['n']}")


def batch_runner(ks: KernelSchema, infra: InfraSettings, topic: str, handler: Handler, size: int) -> ConsumerRunner:
    return ConsumerRunner(
        name=f"kernel-batch-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=handler,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=infra,
        batch_size=size,
    )


async def transactions(engine: AsyncEngine, ks: KernelSchema) -> int:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ks.effects.c.body))).scalars()
        return len({orjson.loads(b)["tx"] for b in rows})


async def committed(infra: InfraSettings, group: str, tp: TopicPartition) -> int | None:
    reader = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return await reader.committed(tp)
    finally:
        await reader.stop()


async def test_batch_applies_each_message_once_in_few_transactions_across_redelivery(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.batch")
    events = [cloud_event(n) for n in range(30)]
    # 30 events, the 5th twice in a row (a relay re-sent it): 31 messages on one partition
    messages = [(b"dev-1", e.to_bytes(), e.id) for e in events]
    messages.insert(5, messages[4])
    metas = await produce(topic, messages, infra=infra)
    tp = metas[0].topic_partition
    handler = TxRecorder(ks)
    run = batch_runner(ks, infra, topic, handler, size=100)
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    try:
        await wait_for(lambda: _count(engine, ks, 30), timeout=30)
        await wait_for(lambda: _committed_is(infra, run.name, tp, metas[-1].offset + 1), timeout=10)
    finally:
        await stop_runner(stop, task)
    assert await effect_ids(engine, ks) == [e.id for e in events]
    assert set(handler.calls.values()) == {1}
    # many messages per transaction: all 31 were fetched together, so a few transactions at most
    assert await transactions(engine, ks) <= 3

    # Redelivery: the same runner in a new consumer group (as after lost offsets) gets every message
    # again from the start, then 5 new events.
    more = [cloud_event(100 + n) for n in range(5)]
    await produce(topic, [(b"dev-1", e.to_bytes(), e.id) for e in more], infra=infra)
    again = ConsumerGroup(f"kernel-batch-again-{uuid.uuid4().hex[:6]}", [run], infra)
    stop = asyncio.Event()
    task = asyncio.create_task(again.run(stop))
    try:
        await wait_for(lambda: _count(engine, ks, 35), timeout=30)
        await drain_time(1.0)  # a second application of anything would show up by now
    finally:
        await stop_runner(stop, task)
    assert await effect_ids(engine, ks) == [e.id for e in events + more]
    assert set(handler.calls.values()) == {1}
    async with engine.connect() as conn:
        t = ks.outbox.processed_table
        assert (await conn.execute(select(func.count()).where(t.c.consumer == run.name))).scalar_one() == 35


async def test_batch_poison_message_goes_to_the_dlq_alone(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.batchdlq")
    good1, failing, good2 = cloud_event(1), cloud_event(2, fail=True), cloud_event(3)
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
    dlq_reader = topic_reader(f"{topic}.dlq", infra=infra)
    await dlq_reader.start()
    handler = TxRecorder(ks)
    run = batch_runner(ks, infra, topic, handler, size=50)
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    try:
        await wait_for(lambda: _count(engine, ks, 2), timeout=30)
        dead = await collect(dlq_reader, lambda m: True, count=2, timeout=20)
        dead += await drain(dlq_reader, 0.5)
        await wait_for(lambda: _committed_is(infra, run.name, tp, metas[-1].offset + 1), timeout=10)
    finally:
        await stop_runner(stop, task)
        await dlq_reader.stop()
    assert await effect_ids(engine, ks) == [good1.id, good2.id]
    assert [m.value for m in dead] == [b"{not json", failing.to_bytes()]
    assert header(dead[0], "dlq_error").decode().startswith("PoisonMessage: value is not JSON")
    assert header(dead[1], "dlq_error") == b"ValueError: refusing reading 2"
    assert header(dead[1], "dlq_consumer") == run.name.encode()
    async with engine.connect() as conn:
        t = ks.outbox.processed_table
        done = (await conn.execute(select(t.c.event_id).where(t.c.consumer == run.name))).scalars()
        assert sorted(done) == sorted([good1.id, good2.id])


async def test_batch_offset_is_committed_after_the_database_commit(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.batchcommit")
    events = [cloud_event(n) for n in range(6)]
    metas = await produce(topic, [(b"dev-1", e.to_bytes(), e.id) for e in events], infra=infra)
    tp = metas[0].topic_partition
    seen_while_handling: list[int | None] = []
    visible_while_handling: list[int] = []
    recorder = TxRecorder(ks)
    name = f"kernel-batch-{uuid.uuid4().hex[:8]}"

    async def handler(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        await recorder(session, msg)
        if msg.offset == metas[-1].offset:  # the batch's last message, its transaction still open
            seen_while_handling.append(await committed(infra, name, tp))
            visible_while_handling.append(await _effects_outside(engine, ks))

    run = ConsumerRunner(
        name=name,
        topics=(topic,),
        handler=handler,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=infra,
        batch_size=100,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    try:
        await wait_for(lambda: _count(engine, ks, 6), timeout=30)
        await wait_for(lambda: _committed_is(infra, name, tp, metas[-1].offset + 1), timeout=10)
    finally:
        await stop_runner(stop, task)
    # While the last batch's transaction was open, neither its rows nor its offset were committed.
    assert seen_while_handling and seen_while_handling[-1] in (None, *range(metas[-1].offset))
    assert visible_while_handling[-1] < len(events)
    assert await transactions(engine, ks) <= 2


async def test_one_consumer_dispatches_by_topic_with_each_runners_own_dedup(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    shared_topic, other_topic = unique("kernel.group.a"), unique("kernel.group.b")
    a_events, b_events = [cloud_event(n) for n in range(3)], [cloud_event(10 + n) for n in range(2)]
    await produce(shared_topic, [(b"k", e.to_bytes(), e.id) for e in a_events], infra=infra)
    await produce(other_topic, [(b"k", e.to_bytes(), e.id) for e in b_events], infra=infra)
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def tracking(label: str) -> Handler:
        async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
            seen[label].append(decode_json(msg)["id"])

        return handle

    def make(label: str, topics: tuple[str, ...], size: int) -> ConsumerRunner:
        return ConsumerRunner(
            name=f"kernel-group-{label}-{uuid.uuid4().hex[:6]}",
            topics=topics,
            handler=tracking(label),
            sessionmaker=ks.sessionmaker,
            outbox=ks.outbox,
            infra=infra,
            batch_size=size,
        )

    first = make("first", (shared_topic,), 1)
    second = make("second", (shared_topic, other_topic), 10)
    group = ConsumerGroup(f"kernel-group-{uuid.uuid4().hex[:6]}", [first, second], infra)
    assert group.topics == (shared_topic, other_topic)
    stop = asyncio.Event()
    task = asyncio.create_task(group.run(stop))
    try:
        await wait_for(lambda: _true(len(seen["first"]) == 3 and len(seen["second"]) == 5), timeout=30)
        await wait_for(lambda: _true(group.health()["ready"]), timeout=10)
        health = group.health()
    finally:
        await stop_runner(stop, task)
    assert seen["first"] == [e.id for e in a_events]
    assert sorted(seen["second"]) == sorted(e.id for e in a_events + b_events)
    assert health["consumers"] == [first.name, second.name]
    # one consumer holds the partitions of both topics
    assert {p.rsplit(":", 1)[0] for p in health["assigned_partitions"]} == {shared_topic, other_topic}
    async with engine.connect() as conn:
        t = ks.outbox.processed_table
        rows = (
            await conn.execute(
                select(t.c.consumer, func.count())
                .group_by(t.c.consumer)
                .where(t.c.consumer.in_([first.name, second.name]))
            )
        ).all()
    assert dict(rows) == {first.name: 3, second.name: 5}


async def test_asset_service_worker_runs_one_kafka_consumer(infra: InfraSettings) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from asset_service.workers import build, load_settings

    engine = create_async_engine(infra.database_url)
    try:
        workers = build(load_settings(), engine)
    finally:
        await engine.dispose()
    groups = [w for w in workers if isinstance(w, ConsumerGroup)]
    assert len(groups) == 1 and not [w for w in workers if isinstance(w, ConsumerRunner)]
    assert [r.name for r in groups[0].runners] == [
        "asset-service.gateway-replicas",
        "asset-service.statuses",
        "asset-service.dispatches",
    ]
    assert set(groups[0].topics) == {
        "gateway.token.v1",
        "gateway.membership.v1",
        "ingest.asset-statuses.v1",
        "ingest.dispatches.v1",
    }


async def _true(value: bool) -> bool:
    return value


async def drain_time(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def _count(engine: AsyncEngine, ks: KernelSchema, n: int) -> bool:
    return len(await effect_ids(engine, ks)) >= n


async def _effects_outside(engine: AsyncEngine, ks: KernelSchema) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ks.effects))).scalar_one())


async def _committed_is(infra: InfraSettings, group: str, tp: TopicPartition, offset: int) -> bool:
    return await committed(infra, group, tp) == offset


async def test_batch_handler_gets_the_new_messages_once_and_a_poison_batch_is_redone_one_by_one(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.batchhandler")
    goods = [cloud_event(n) for n in range(6)]
    messages = [(b"dev-1", e.to_bytes(), e.id) for e in goods]
    messages.insert(2, messages[1])  # a second copy inside the batch
    first = await produce(topic, messages, infra=infra)
    calls: list[list[str]] = []

    async def rows(session: AsyncSession, msgs: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        bodies = [decode_json(m) for m in msgs]  # PoisonMessage on bad JSON fails the whole batch
        calls.append([b["id"] for b in bodies])
        await session.execute(
            ks.effects.insert(),
            [
                {"event_id": b["id"], "topic": m.topic, "kafka_offset": m.offset}
                for b, m in zip(bodies, msgs, strict=True)
            ],
        )

    run = ConsumerRunner(
        name=f"kernel-batch-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=TxRecorder(ks),
        batch_handler=rows,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=infra,
        batch_size=100,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    dlq_reader = topic_reader(f"{topic}.dlq", infra=infra)
    await dlq_reader.start()
    try:
        await wait_for(lambda: _count(engine, ks, 6), timeout=30)
        await wait_for(lambda: _committed_is(infra, run.name, first[0].topic_partition, first[-1].offset + 1), 10)
        assert sorted(i for c in calls for i in c) == sorted(e.id for e in goods)  # each new message once
        # a batch with a poison message: rolled back, redone one by one with ``handler``
        later = [cloud_event(20), cloud_event(21)]
        await produce(
            topic,
            infra=infra,
            messages=[
                (b"dev-1", later[0].to_bytes(), later[0].id),
                (b"dev-1", b"{not json", None),
                (b"dev-1", later[1].to_bytes(), later[1].id),
            ],
        )
        dead = await collect(dlq_reader, lambda m: True, count=1, timeout=20)
        await wait_for(lambda: _count(engine, ks, 8), timeout=30)
    finally:
        await stop_runner(stop, task)
        await dlq_reader.stop()
    assert [m.value for m in dead] == [b"{not json"]
    assert await effect_ids(engine, ks) == [e.id for e in goods + later]


async def test_a_backlog_fills_the_batch_from_several_fetches(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    """Messages of 300 kB: a broker answers a fetch with a few MiB (the embedded one ~5 MiB, 18 such
    messages), the group fetches again until the batch holds max_records messages."""
    ks = kernel_schema
    topic = unique("kernel.fill")
    events = [cloud_event(n, pad="x" * 300_000) for n in range(60)]
    metas = await produce(topic, [(b"dev-1", e.to_bytes(), e.id) for e in events], infra=infra)
    tp = metas[0].topic_partition
    handler = TxRecorder(ks)
    run = batch_runner(ks, infra, topic, handler, size=60)
    group = ConsumerGroup(f"kernel-fill-{uuid.uuid4().hex[:6]}", [run], infra, max_records=60)
    stop = asyncio.Event()
    task = asyncio.create_task(group.run(stop))
    try:
        await wait_for(lambda: _count(engine, ks, 60), timeout=60)
        await wait_for(lambda: _committed_is(infra, group.name, tp, metas[-1].offset + 1), timeout=10)
    finally:
        await stop_runner(stop, task)
    assert await effect_ids(engine, ks) == [e.id for e in events]
    assert await transactions(engine, ks) == 1
