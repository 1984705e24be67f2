"""OutboxRelay: every event once, per-key order, woken by NOTIFY, prompt shutdown."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.db import unit_of_work
from gridcommons.outbox import OutboxRelay
from gridcommons.settings import InfraSettings
from gridcommons.testing.kafka import topic_reader

from .conftest import KernelSchema, collect, drain, header, unique, wait_for


async def write_events(ks: KernelSchema, topic: str, key: str, n: int, per_tx: int) -> None:
    """``n`` events of one aggregate, written in order (as a domain writer would, aggregate by aggregate)."""
    for start in range(0, n, per_tx):
        async with unit_of_work(ks.sessionmaker) as session:
            for i in range(start, min(start + per_tx, n)):
                await ks.outbox.publish(
                    session, topic=topic, type="org.gridcommons.test.counted", subject=key, data={"n": i}, company_id=7
                )
        await asyncio.sleep(0)


async def stop_within(stop: asyncio.Event, tasks: list[asyncio.Task[None]], seconds: float) -> float:
    stop.set()
    t0 = time.monotonic()
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    assert not pending, f"relay still running {seconds}s after stop"
    for task in done:
        task.result()
    return time.monotonic() - t0


async def test_two_relays_publish_every_event_once_in_key_order(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.relay")
    keys = [f"agg-{i}" for i in range(8)]
    per_key = 25  # 200 events

    reader = topic_reader(topic, infra=infra)
    await reader.start()
    stop = asyncio.Event()
    relays = [
        asyncio.create_task(OutboxRelay(ks.outbox, engine, infra, batch_size=30, poll_interval=0.5).run(stop))
        for _ in range(2)
    ]
    try:
        t0 = time.monotonic()
        await asyncio.gather(*(write_events(ks, topic, key, per_key, per_tx=3 + i % 4) for i, key in enumerate(keys)))
        received = await collect(reader, lambda m: True, count=len(keys) * per_key, timeout=30)
        elapsed = time.monotonic() - t0
        received += await drain(reader, 1.0)  # a duplicate would show up here
        shutdown = await stop_within(stop, relays, 5.0)
    finally:
        stop.set()
        await reader.stop()
    print(f"\n200 events via 2 relays: {elapsed:.2f}s write+deliver; relays stopped in {shutdown * 1000:.0f} ms")

    async with engine.connect() as conn:
        rows = (await conn.execute(select(ks.outbox.table).order_by(ks.outbox.table.c.seq))).all()
    assert len(rows) == 200
    assert all(r.published_at is not None for r in rows)

    ids = [header(m, "ce_id").decode() for m in received]
    assert len(ids) == 200, f"{len(ids) - len(set(ids))} duplicates"
    assert set(ids) == {r.event_id for r in rows}
    for m in received:
        envelope = orjson.loads(m.value)
        assert envelope["id"] == header(m, "ce_id").decode()
        assert m.key.decode() == envelope["subject"]

    expected: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        expected[r.key].append(r.event_id)
    got: dict[str, list[str]] = defaultdict(list)
    for m in received:
        got[m.key.decode()].append(header(m, "ce_id").decode())
    assert got == expected  # per key: the outbox's seq order
    for key in keys:
        assert [orjson.loads(m.value)["data"]["n"] for m in received if m.key == key.encode()] == list(range(per_key))


async def test_relay_is_woken_by_notify(kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings) -> None:
    ks = kernel_schema
    topic = unique("kernel.notify")
    reader = topic_reader(topic, infra=infra)
    await reader.start()
    stop = asyncio.Event()
    relay = asyncio.create_task(OutboxRelay(ks.outbox, engine, infra, poll_interval=60).run(stop))
    try:
        await write_events(ks, topic, "warm-up", 1, 1)
        await collect(reader, lambda m: m.key == b"warm-up", timeout=20)
        await asyncio.sleep(1.0)  # the relay is idle now, its next poll 60 s away
        t0 = time.monotonic()
        await write_events(ks, topic, "woken", 1, 1)
        [msg] = await collect(reader, lambda m: m.key == b"woken", timeout=3)
        latency = time.monotonic() - t0
        shutdown = await stop_within(stop, [relay], 5.0)
    finally:
        stop.set()
        await reader.stop()
    print(f"\nNOTIFY wake-up: commit -> consumer {latency * 1000:.0f} ms; relay stopped in {shutdown * 1000:.0f} ms")
    assert latency < 2.0
    assert orjson.loads(msg.value)["type"] == "org.gridcommons.test.counted"

    async def published() -> bool:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(ks.outbox.table.c.published_at))).all()
        return len(rows) == 2 and all(r.published_at is not None for r in rows)

    await wait_for(published, timeout=2)
