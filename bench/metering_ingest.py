"""Readings per second through ``POST /api/ingest/meter-readings`` against raw asyncpg COPY into the
same table.

    .venv/bin/python bench/metering_ingest.py [--readings 2000000] [--batch 50000] [--clients 4] [--runs 1]

Starts an embedded PostgreSQL on a free port (default settings, as ``make run``), migrates the
metering-service and runs it as a uvicorn subprocess (one worker, uvloop + httptools, no access
log; no broker: the outbox rows of the events are written, nobody relays them). The readings are
15-minute values of a year (35,040 per series, as many series as needed), decimal strings, sent in
series-then-time order. Every body (JSON, ``--batch`` readings addressed by series id) is built
before the timer starts; ``--clients`` concurrent clients post them directly to the service with a
signed internal identity: the service's own cost and its write paths (the same load through the
gateway and Kafka on the whole stack: ``bench/metering_ingest_gateway.py``).

Each run, for each way in turn, on an empty ``readings`` table (``TRUNCATE`` + ``CHECKPOINT`` before,
partitions kept, so that the table's partitions exist as the worker keeps them):

* ``http append``: the service as configured by default: a batch whose time ranges hold no stored
  reading (all of them here) is COPied straight into ``readings``, and the rollups of the days it
  wrote are recomputed in the same transaction;
* ``http no rollups``: the same with ``METERING_ROLLUPS_INLINE=false`` (what the rollups cost);
* ``http unnest``: the service with the append path off (``METERING_INGEST_APPEND_COPY=false``) and
  ``METERING_INGEST_WRITE_PATH=unnest`` (one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
  UPDATE`` per batch);
* ``http copy``: append off, ``METERING_INGEST_WRITE_PATH=copy`` (COPY into a temporary table, then
  one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``);
* ``http replay``: the default service again, the same batches a second time on the loaded table
  (every range taken: the upsert rule, every row equal, nothing written);
* ``raw upsert``: the service's own statement (``repository.UPSERT_UNNEST``) with the same rows
  already as Python values, straight on asyncpg, in batches of ``--batch`` on ``--clients``
  connections: what the database costs without HTTP, parsing and checking;
* ``raw COPY``: the same rows with asyncpg ``copy_records_to_table`` into ``metering.readings``, in
  batches of ``--batch`` on ``--clients`` connections, no conflict handling.

Prints readings/s of each and the ratios HTTP / raw COPY, with ``nproc`` and the load average.
``--service-workers 2`` runs the service with two uvicorn worker processes (a service scales by
processes; one process is bound by its single core).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import orjson
from _common import ROOT, in_process_env, migrated_postgres, operator_headers

from gridcommons.devstack import free_port
from metering_service.readings.repository import UPSERT_UNNEST

PER_SERIES = 35_040  # a year of quarter hours
START = datetime(2026, 1, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
COMPANY = 7


def readings(n: int) -> tuple[list[int], list[datetime], list[str]]:
    ids, times, values = [], [], []
    for k in range(n):
        series, slot = divmod(k, PER_SERIES)
        ids.append(series + 1)
        times.append(START + slot * Q)
        values.append(f"{(k * 37) % 100_000 / 1000:.3f}")
    return ids, times, values


def bodies(ids: list[int], times: list[datetime], values: list[str], batch: int) -> list[bytes]:
    out = []
    for start in range(0, len(ids), batch):
        chunk = range(start, min(start + batch, len(ids)))
        out.append(
            orjson.dumps(
                {
                    "readings": [
                        {"series_id": ids[i], "time": times[i].isoformat().replace("+00:00", "Z"), "value": values[i]}
                        for i in chunk
                    ]
                }
            )
        )
    return out


def service(port: int, way: str, log: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    if way in ("http unnest", "http copy"):
        env |= {"METERING_INGEST_APPEND_COPY": "false", "METERING_INGEST_WRITE_PATH": way.split()[1]}
    if way == "http no rollups":
        env |= {"METERING_ROLLUPS_INLINE": "false"}
    argv = [
        sys.executable, "-m", "uvicorn", "metering_service.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("metering-service did not become ready")


async def empty_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE metering.readings, metering.rollup_days")
        await conn.execute("DELETE FROM metering.outbox")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM metering.readings"))
    finally:
        await conn.close()


async def post_all(url: str, headers: Callable[[], dict[str, str]], batches: list[bytes], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in batches:
        queue.put_nowait(body)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while not queue.empty():
                body = queue.get_nowait()
                r = await client.post(
                    "/api/ingest/meter-readings",
                    content=body,
                    headers={**headers(), "content-type": "application/json"},
                )
                assert r.status_code == 200, r.text[:500]

    start = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - start


async def copy_all(
    dsn: str, rows: list[tuple[int, datetime, Decimal, int]], batch: int, clients: int, *, upsert: bool = False
) -> float:
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    queue: asyncio.Queue[list[tuple[int, datetime, Decimal, int]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def loop(conn: asyncpg.Connection) -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            if upsert:
                async with conn.transaction():
                    await conn.fetch(UPSERT_UNNEST, *(list(column) for column in zip(*chunk, strict=True)))
            else:
                await conn.copy_records_to_table(
                    "readings", schema_name="metering", records=chunk, columns=["series_id", "ts", "value", "quality"]
                )

    try:
        start = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        return time.perf_counter() - start
    finally:
        for c in conns:
            await c.close()


async def bench(args: argparse.Namespace, tmp: Path, db_url: str) -> None:
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    ids, times, values = readings(args.readings)
    batches = bodies(ids, times, values, args.batch)
    rows = [(i, t, Decimal(v), 3) for i, t, v in zip(ids, times, values, strict=True)]
    print(
        f"{args.readings:,} readings in {len(batches)} batches of {args.batch:,} ({sum(map(len, batches)) / 1e6:.0f} MB JSON)"
    )
    if True:
        private_key = in_process_env(db_url)
        dsn = db_url.replace("+asyncpg", "")

        def headers() -> dict[str, str]:  # the internal identity is short-lived: signed per request
            return operator_headers(private_key, COMPANY)

        # the months of the data exist before the first timed load (as the worker keeps them ahead)
        conn = await asyncpg.connect(dsn)
        try:
            for m in range(1, 13):
                await conn.execute(
                    f"CREATE TABLE metering.readings_y2026m{m:02d} PARTITION OF metering.readings "
                    f"FOR VALUES FROM ('2026-{m:02d}-01 00:00+00') TO "
                    f"('{2026 + m // 12}-{m % 12 + 1:02d}-01 00:00+00')"
                )
            series = [(k + 1, COMPANY, f"bench-{k + 1}/energy") for k in range(ids[-1])]
            await conn.executemany(
                "INSERT INTO metering.series (id, company_id, external_key, kind, unit, timezone) "
                "OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, 'instantaneous', 'kW', 'Europe/Paris')",
                series,
            )
        finally:
            await conn.close()
        results: dict[str, list[float]] = {
            way: []
            for way in (
                "http append",
                "http replay",
                "http no rollups",
                "http unnest",
                "http copy",
                "raw upsert",
                "raw COPY",
            )  # fmt: skip
        }
        for run in range(args.runs):
            for way in results:
                if way != "http replay":  # the replay runs on what "http append" loaded
                    await empty_table(dsn)
                if way.startswith("raw"):
                    seconds = await copy_all(dsn, rows, args.batch, args.clients, upsert=way == "raw upsert")
                else:
                    port = free_port()
                    proc = service(port, way, tmp / "metering.log", args.service_workers)
                    try:
                        url = f"http://127.0.0.1:{port}"
                        await wait_ready(url)
                        seconds = await post_all(url, headers, batches, args.clients)
                    finally:
                        proc.terminate()
                        proc.wait(10)
                stored = await count(dsn)
                assert stored == args.readings, (way, stored)
                rate = args.readings / seconds
                results[way].append(rate)
                print(f"run {run + 1} {way:12s} {seconds:7.2f} s  {rate:10,.0f} readings/s  load {os.getloadavg()}")
        med = {way: statistics.median(v) for way, v in results.items()}
        print()
        for way, v in results.items():
            print(f"{way:12s} median {med[way]:10,.0f} readings/s  [{min(v):,.0f}–{max(v):,.0f}]")
        for way in ("http append", "http no rollups", "http unnest", "http copy", "raw upsert"):
            print(f"{way} / raw COPY = {med[way] / med['raw COPY']:.2f}")
        print(f"http append (rollups) / http no rollups = {med['http append'] / med['http no rollups']:.2f}")
        for way in ("http unnest", "http copy"):
            print(f"{way} / raw upsert = {med[way] / med['raw upsert']:.2f}")
        print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--readings", type=int, default=2_000_000, help="readings per load (the issue's figure: 10000000)"
    )
    parser.add_argument("--batch", type=int, default=50_000, help="readings per request (10,000..100,000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (and COPY connections)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--service-workers", type=int, default=1, help="uvicorn worker processes of the service")
    args = parser.parse_args()
    with migrated_postgres("gc-bench-metering-", ["metering-service"]) as (tmp, db_url):
        asyncio.run(bench(args, tmp, db_url))
