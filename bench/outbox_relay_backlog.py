"""The outbox relay's throughput with a large backlog of published rows in its table, against an
empty table, and what one prune pass costs when that backlog is past the retention window.

    .venv/bin/python bench/outbox_relay_backlog.py [--backlog 1000000] [--events 20000] [--runs 2]

An embedded PostgreSQL with the asset-service migrated (the real outbox table and its indexes) and
an embedded broker; the relay of the asset schema runs in process with its default batch size.
Each run writes ``--events`` unpublished rows (CloudEvents of about 1.4 kB, the size measured in
the asset-service outbox) in one transaction, starts the relay and times until the last row is
marked published. Phases: empty table (emptied before each run); ``--backlog`` published rows
inside the retention window (the relay's prune finds nothing to delete); the same backlog past
the window, deleted by the relay's own pruning while it publishes twice ``--events`` (the catch-up
after an upgrade or a long stop); another such backlog deleted by one prune pass alone (rows per
second, milliseconds per statement, the table's size after a VACUUM: freed space is reused);
the relay again after that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import orjson
from _common import migrated_postgres
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gridcommons.devstack import EmbeddedBroker, free_port
from gridcommons.events import CloudEvent
from gridcommons.outbox import OutboxRelay
from gridcommons.settings import InfraSettings

# A payload of the size measured in the asset-service outbox (≈ 1.4 kB per row).
TEMPLATE = CloudEvent(
    source="/services/asset-service",
    type="org.gridcommons.asset.status.changed",
    subject="asset-0000000",
    companyid="1",
    data={"readings": [{"quantity": f"q{i}", "value": i * 1.5, "unit": "kW"} for i in range(14)]},
).model_dump(mode="json", exclude_none=True)

INSERT = (
    "INSERT INTO asset.outbox (event_id, topic, key, payload, created_at, published_at) "
    "SELECT CAST(:prefix AS text) || i, 'bench.relay', 'asset-' || (i % 1000), "
    "jsonb_set(CAST(:tpl AS jsonb), '{id}', to_jsonb(CAST(:prefix AS text) || i)), "
    "now() - make_interval(secs => :age), "
    "CASE WHEN CAST(:published AS boolean) THEN now() - make_interval(secs => :age) END "
    "FROM generate_series(1, :n) AS i"
)


async def insert_rows(engine: AsyncEngine, prefix: str, n: int, *, published: bool, age: float = 0.0) -> None:
    step = 100_000
    for start in range(0, n, step):
        async with engine.begin() as conn:
            await conn.execute(
                text(INSERT),
                {
                    "prefix": f"{prefix}{start}-",
                    "tpl": orjson.dumps(TEMPLATE).decode(),
                    "n": min(step, n - start),
                    "published": published,
                    "age": age,
                },
            )


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def vacuum(db_url: str) -> None:
    engine = create_async_engine(db_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE asset.outbox"))
    await engine.dispose()


async def relay_run(engine: AsyncEngine, infra: InfraSettings, events: int, tag: str) -> float:
    """events/s of one relay publishing ``events`` fresh rows."""
    from asset_service.db import outbox

    await insert_rows(engine, f"{tag}-", events, published=False)
    stop = asyncio.Event()
    relay = OutboxRelay(outbox, engine, infra)
    t0 = time.perf_counter()
    task = asyncio.create_task(relay.run(stop))
    while await scalar(engine, "SELECT count(*) FROM asset.outbox WHERE published_at IS NULL"):
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    return events / elapsed


def cpu_steal() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[7], sum(fields)


async def phase(
    label: str, engine: AsyncEngine, infra: InfraSettings, events: int, runs: int, *, empty: bool = False
) -> list[float]:
    rates = []
    for r in range(runs):
        if empty:
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE asset.outbox"))
        s0, t0 = cpu_steal()
        rate = await relay_run(engine, infra, events, f"{label}{r}")
        s1, t1 = cpu_steal()
        rows = await scalar(engine, "SELECT count(*) FROM asset.outbox")
        print(
            f"  {label} run {r + 1}: {rate:,.0f} events/s (table {rows:,} rows, "
            f"steal {100 * (s1 - s0) / max(1, t1 - t0):.1f} %, load {os.getloadavg()[0]:.1f})"
        )
        rates.append(rate)
    print(f"{label}: median {statistics.median(rates):,.0f} events/s [{min(rates):,.0f}–{max(rates):,.0f}]")
    return rates


def main(backlog: int, events: int, runs: int) -> None:
    with migrated_postgres("gc-bench-relay-", ["asset-service"]) as (_, db_url):
        asyncio.run(measure(db_url, backlog, events, runs))


async def measure(db_url: str, backlog: int, events: int, runs: int) -> None:
    from asset_service.db import outbox

    broker = EmbeddedBroker(free_port())
    broker.start()
    os.environ.update({"DATABASE_URL": db_url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap})
    infra = InfraSettings()
    engine = create_async_engine(db_url)
    try:
        print(f"load average {os.getloadavg()}, nproc {os.cpu_count()}")
        await phase("empty table", engine, infra, events, runs, empty=True)
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE asset.outbox"))

        t0 = time.perf_counter()
        # 8 days old: inside a 30-day window while the relay runs, past the default 7 days afterwards.
        await insert_rows(engine, "backlog-", backlog, published=True, age=8 * 86_400.0)
        await vacuum(db_url)
        size = await scalar(engine, "SELECT pg_size_pretty(pg_total_relation_size('asset.outbox'))")
        print(f"backlog of {backlog:,} published rows written in {time.perf_counter() - t0:.0f} s: {size}")
        keep_all = infra.model_copy(update={"outbox_retention_seconds": 30 * 86_400.0})
        await phase(f"{backlog:,} published rows", engine, keep_all, events, runs)

        # The backlog is now past the default window: the relay prunes between its rounds.
        expired = "SELECT count(*) FROM asset.outbox WHERE published_at < now() - interval '7 days'"
        before = int(await scalar(engine, expired))
        await phase(f"{backlog:,} expired rows, relay pruning", engine, infra, 2 * events, 1)
        after = int(await scalar(engine, expired))
        print(f"  the relay deleted {before - after:,} expired rows meanwhile; {after:,} left")
        await vacuum(db_url)  # what autovacuum does after the deletes: the space becomes reusable

        # Once more, for one prune pass alone (and whether the freed space is reused).
        t0 = time.perf_counter()
        await insert_rows(engine, "again-", backlog, published=True, age=8 * 86_400.0)
        await vacuum(db_url)
        size = await scalar(engine, "SELECT pg_size_pretty(pg_total_relation_size('asset.outbox'))")
        print(f"another {backlog:,} expired rows written in {time.perf_counter() - t0:.0f} s: {size}")
        relay = OutboxRelay(outbox, engine, infra)
        t0 = time.perf_counter()
        result = await relay.prune()
        took = time.perf_counter() - t0
        statements = -(-result.outbox // infra.kernel_prune_batch_size)
        print(
            f"one prune pass: {result.outbox:,} rows deleted in {took:.1f} s "
            f"({result.outbox / took:,.0f} rows/s; {statements} statements of "
            f"{infra.kernel_prune_batch_size} rows, {1000 * took / max(1, statements):.0f} ms each on average)"
        )
        left = await scalar(engine, "SELECT count(*) FROM asset.outbox")
        await vacuum(db_url)
        size = await scalar(engine, "SELECT pg_size_pretty(pg_total_relation_size('asset.outbox'))")
        print(f"after the prune and a VACUUM: {left:,} rows, {size} (space kept for reuse)")
        await phase("after the prune", engine, infra, events, runs)
    finally:
        await engine.dispose()
        broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    main(args.backlog, args.events, args.runs)
