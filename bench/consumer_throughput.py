"""Messages per second through ``ConsumerRunner``: one transaction per message vs batch mode.

    .venv/bin/python bench/consumer_throughput.py [--messages 5000] [--batch-messages 20000] [--batch-size 500]

Starts an embedded PostgreSQL and broker (Tansu, as ``make run``; KAFKA_BOOTSTRAP_SERVERS /
DATABASE_URL to use others), creates a scratch schema with the kernel's ``processed_events`` and
an ``effects`` table, produces the messages (CloudEvents of ~200 bytes, ``ce_id`` header, one
partition) up front, then runs a runner on them; the handler decodes the JSON and inserts one
``effects`` row per message (a small ingestion). Throughput is counted from the handler's first
call to the moment the last row is committed (the group join is not counted). Each mode reads
its own topic with a fresh consumer name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence

import orjson
from aiokafka.structs import ConsumerRecord
from sqlalchemy import BigInteger, Column, String, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from gridcommons.consumer import ConsumerGroup, ConsumerRunner
from gridcommons.db import make_sessionmaker, schema_metadata
from gridcommons.devstack import EmbeddedBroker, EmbeddedPostgres, free_port, remove_tree
from gridcommons.events import CloudEvent
from gridcommons.kafka import ensure_topics, make_producer
from gridcommons.outbox import Outbox
from gridcommons.settings import InfraSettings


async def produce(infra: InfraSettings, topic: str, n: int) -> None:
    await ensure_topics(infra, (topic,))
    producer = make_producer(infra, client_id="bench-producer")
    await producer.start()
    try:
        pending = []
        for i in range(n):
            event = CloudEvent(
                source="/bench", type="org.gridcommons.bench.reading", subject="m-1", data={"n": i, "kwh": "1.25"}
            )
            pending.append(
                await producer.send(topic, value=event.to_bytes(), key=b"m-1", headers=[("ce_id", event.id.encode())])
            )
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def run_mode(
    infra: InfraSettings, engine, schema: str, n: int, batch_size: int, multi_row: bool = False
) -> float:  # type: ignore[no-untyped-def]
    metadata = schema_metadata(schema)
    outbox = Outbox(metadata, source="/bench")
    effects = Table(
        "effects",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("n", BigInteger),
        Column("event_id", String(64)),
    )
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    topic = f"bench.throughput.{uuid.uuid4().hex[:8]}"
    await produce(infra, topic, n)
    first: list[float] = []

    async def handler(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        if not first:
            first.append(time.perf_counter())
        body = orjson.loads(msg.value or b"")
        await session.execute(effects.insert().values(n=body["data"]["n"], event_id=body["id"]))

    async def batch_handler(session: AsyncSession, msgs: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        if not first:
            first.append(time.perf_counter())
        rows = [orjson.loads(m.value or b"") for m in msgs]
        await session.execute(effects.insert(), [{"n": r["data"]["n"], "event_id": r["id"]} for r in rows])

    runner = ConsumerRunner(
        name=f"bench-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=handler,
        sessionmaker=make_sessionmaker(engine),
        outbox=outbox,
        infra=infra,
        batch_size=batch_size,
        batch_handler=batch_handler if multi_row else None,
    )
    group = ConsumerGroup(runner.name, [runner], infra, max_records=max(500, batch_size))
    stop = asyncio.Event()
    task = asyncio.create_task(group.run(stop))
    try:
        while True:
            async with engine.connect() as conn:
                done = (await conn.execute(select(func.count()).select_from(effects))).scalar_one()
            if done >= n:
                end = time.perf_counter()
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return n / (end - first[0])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000, help="messages for the one-by-one mode")
    parser.add_argument("--batch-messages", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-consumer-"))
    os.chmod(tmp, 0o755)
    pg = broker = None
    try:
        db_url = os.environ.get("DATABASE_URL")
        if not db_url:
            pg = EmbeddedPostgres(tmp / "pg", free_port(), database="gridcommons_bench")
            db_url = pg.start()
            os.environ["DATABASE_URL"] = db_url
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker = EmbeddedBroker(free_port())
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.start()
            os.environ.update(broker.client_env())
        infra = InfraSettings()
        engine = create_async_engine(db_url, pool_size=5)
        print(f"load average {os.getloadavg()[0]:.1f}, nproc {os.cpu_count()}", flush=True)
        try:
            for run in range(1, args.runs + 1):
                single = await run_mode(infra, engine, f"bench_single_{uuid.uuid4().hex[:6]}", args.messages, 1)
                print(
                    f"run {run}: one transaction per message: {single:8.0f} messages/s ({args.messages} messages)",
                    flush=True,
                )
                batch = await run_mode(
                    infra, engine, f"bench_batch_{uuid.uuid4().hex[:6]}", args.batch_messages, args.batch_size
                )
                rows = await run_mode(
                    infra, engine, f"bench_rows_{uuid.uuid4().hex[:6]}", args.batch_messages, args.batch_size, True
                )
                print(
                    f"run {run}: batch mode + batch_handler (one multi-row INSERT): {rows:8.0f} messages/s "
                    f"({args.batch_messages} messages), {rows / single:.1f}x",
                    flush=True,
                )
                print(
                    f"run {run}: batch mode (batch_size={args.batch_size}): {batch:8.0f} messages/s "
                    f"({args.batch_messages} messages), {batch / single:.1f}x  (load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        finally:
            await engine.dispose()
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        remove_tree(tmp)


if __name__ == "__main__":
    asyncio.run(main())
