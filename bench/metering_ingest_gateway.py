"""Readings per second through the gateway (``POST /api/ingest/meter-readings``) and through Kafka
(``ingest.meter-readings.v1``) on the whole ``make run`` stack, against raw asyncpg COPY into the same
table in the same run.

    .venv/bin/python bench/metering_ingest_gateway.py [--readings 10000000] [--batch 50000] [--clients 4]
        [--kafka-readings 10000000] [--per-message 10000] [--ways gateway,copy,kafka]

Starts ``python -m gridcommons.stack run`` in a scratch folder on free ports (``bench/_stack.py``: the
embedded PostgreSQL and broker, every service and worker as its own process, as ``make run`` does;
no copy of its start-up here). Takes the demo device's ``client_credentials`` token from the gateway,
creates the series through the gateway (35,040 quarter hours of 2026 each: 286 series for 10 M
readings), then, each way on an emptied ``readings`` table (``TRUNCATE`` + ``CHECKPOINT``; the 2026
partitions were created by a warm-up batch):

* ``gateway``: every body (JSON, ``--batch`` readings addressed by series id, decimal strings) is built
  before the timer; ``--clients`` concurrent httpx clients post them to the gateway with
  ``Authorization: Bearer <device token>`` and ``CompanyID``; the gateway verifies the token, signs the
  internal identity and streams the body to metering-service (one uvicorn process, as ``make run``
  starts it), which checks, COPies, recomputes the rollups of the days written and writes the outbox
  rows in the request's transaction; the metering worker relays the events to the broker meanwhile;
* ``copy``: the same rows as Python values (``int, datetime, Decimal, int``) with asyncpg
  ``copy_records_to_table`` on ``--clients`` connections, batches of ``--batch``, no conflict
  handling, no rollups: the floor the issue compares with;
* ``kafka``: ``--kafka-readings`` readings as messages of ``--per-message`` readings (the same JSON
  payload, the device token in the ``authorization`` header), produced as fast as aiokafka sends
  them while the stack's metering worker consumes them in batch mode; timed from the first message
  sent to the last reading committed (the production overlaps the consumption, as it would live).

``--no-rollups`` runs the stack with ``METERING_ROLLUPS_INLINE=false`` (what the rollups cost the door);
``--web-concurrency 2`` gives every service two uvicorn worker processes (uvicorn's ``WEB_CONCURRENCY``,
which ``make run`` passes through).

Prints readings/s, the ratios, and the CPU seconds each process of the stack used during each way
(``/proc``), with ``nproc`` and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import orjson
from _stack import Stack, descendants, label, running_stack, steal_and_load
from aiokafka import AIOKafkaProducer

PER_SERIES = 35_040  # a year of quarter hours
START = datetime(2026, 1, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
TOPIC = "ingest.meter-readings.v1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def token(stack: Stack, form: dict[str, str]) -> str:
    req = urllib.request.Request(
        f"{stack.gateway}/auth/token",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return str(json.loads(resp.read())["access_token"])


def value_text(k: int) -> str:
    return f"{(k * 37) % 100_000 / 1000:.3f}"


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(start + size, n))


def body(series: list[int], ks: range) -> bytes:
    """Readings ``ks`` of the load: reading k is series k // PER_SERIES at quarter hour k % PER_SERIES."""
    return orjson.dumps(
        {
            "readings": [
                {
                    "series_id": series[k // PER_SERIES],
                    "time": iso(START + (k % PER_SERIES) * Q),
                    "value": value_text(k),
                }
                for k in ks
            ]
        }
    )


def cpu_by_label(root: int) -> dict[str, int]:
    """CPU ticks per stack process, children included: a PostgreSQL backend that exited (the COPY
    connections) counts in the postmaster's reaped-children time (cutime + cstime)."""
    tree = descendants(root)
    out: dict[str, int] = {}
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = label(pid, root, tree)
        out[name] = out.get(name, 0) + sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return out


def cpu_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    return {k: (after.get(k, 0) - before.get(k, 0)) / CLK_TCK for k in after if after.get(k, 0) - before.get(k, 0)}


async def empty_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE metering.readings, metering.rollup_days")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# The demo tenant's Modbus meter keeps adding readings to its own series: count the bench's only.
COUNT = "SELECT count(*) FROM metering.readings WHERE series_id >= $1"


async def stored(dsn: str, first_series: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(COUNT, first_series))
    finally:
        await conn.close()


async def post_all(url: str, headers: dict[str, str], bodies: list[bytes], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while not queue.empty():
                r = await client.post("/api/ingest/meter-readings", content=queue.get_nowait(), headers=headers)
                assert r.status_code == 200, r.text[:500]

    start = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - start


async def copy_all(dsn: str, rows: list[tuple[int, datetime, Decimal, int]], batch: int, clients: int) -> float:
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    queue: asyncio.Queue[list[tuple[int, datetime, Decimal, int]]] = asyncio.Queue()
    for start in range(0, len(rows), batch):
        queue.put_nowait(rows[start : start + batch])

    async def loop(conn: asyncpg.Connection) -> None:
        while not queue.empty():
            await conn.copy_records_to_table(
                "readings",
                schema_name="metering",
                records=queue.get_nowait(),
                columns=["series_id", "ts", "value", "quality"],
            )

    try:
        start = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        return time.perf_counter() - start
    finally:
        for c in conns:
            await c.close()


LAST_MISSING = """
SELECT count(*) FROM unnest($1::bigint[], $2::timestamptz[]) AS m(series_id, ts)
WHERE NOT EXISTS (SELECT 1 FROM metering.readings r WHERE r.series_id = m.series_id AND r.ts = m.ts)
"""


async def kafka_all(
    stack: Stack,
    dsn: str,
    messages: list[bytes],
    lasts: list[tuple[int, datetime]],
    device: str,
    expected: int,
    first_series: int,
) -> tuple[float, float]:
    """(seconds from the first send to the last reading stored, seconds the production took)."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, linger_ms=5, max_request_size=16 * 1024 * 1024, acks=1)
    await producer.start()
    conn = await asyncpg.connect(dsn)
    headers = [("authorization", f"Bearer {device}".encode())]
    try:
        start = time.perf_counter()
        pending = [await producer.send(TOPIC, value=m, headers=headers) for m in messages]
        await asyncio.gather(*pending)
        produced = time.perf_counter() - start
        deadline = start + 3600
        while True:
            # Done when every message's last reading is stored (one index probe each; a count(*) of
            # millions of rows every moment would load PostgreSQL as much as the worker does).
            missing = await conn.fetchval(LAST_MISSING, [m[0] for m in lasts], [m[1] for m in lasts])
            if not missing:
                elapsed = time.perf_counter() - start
                n = int(await conn.fetchval(COUNT, first_series))
                assert n == expected, (n, expected)
                return elapsed, produced
            if time.perf_counter() > deadline:
                raise RuntimeError(f"Kafka: {missing} messages not stored after an hour")
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        await conn.close()


async def bench(args: argparse.Namespace, stack: Stack) -> None:
    ways = args.ways.split(",")
    print(f"stack up; {steal_and_load()}")
    dsn = stack.database_url.replace("postgresql+asyncpg", "postgresql")
    device = token(
        stack, {"grant_type": "client_credentials", "client_id": "demo-device", "client_secret": "demo-device-secret"}
    )
    operator = token(stack, {"grant_type": "password", "username": "demo-operator", "password": "demo-operator-pass"})
    op_headers = {"Authorization": f"Bearer {operator}", "CompanyID": stack.company_id}
    n_series = -(-max(args.readings, args.kafka_readings) // PER_SERIES)
    series: list[int] = []
    run_tag = int(time.time())
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=60) as client:
        for k in range(n_series + 1):  # the last one takes the warm-up batch
            r = await client.post(
                "/api/metering/series",
                json={"external_key": f"bench-{run_tag}-{k}/power", "kind": "instantaneous", "unit": "kW"},
                headers=op_headers,
            )
            assert r.status_code == 201, r.text
            series.append(r.json()["id"])
        # one reading per month of 2026: the partitions exist before the timed loads (as the worker keeps
        # them ahead of live data; a backfill of past months creates them on its first batch)
        warm = [{"series_id": series[-1], "time": f"2026-{m:02d}-15T00:00:00Z", "value": "1"} for m in range(1, 13)]
        r = await client.post(
            "/api/ingest/meter-readings",
            json={"readings": warm},
            headers={"Authorization": f"Bearer {device}", "CompanyID": stack.company_id},
        )
        assert r.status_code == 200, r.text
    series = series[:-1]
    print(f"{len(series)} series created through the gateway")

    root = stack.proc.pid
    results: dict[str, float] = {}
    cpu: dict[str, dict[str, float]] = {}
    if "gateway" in ways or "copy" in ways:
        t0 = time.perf_counter()
        bodies = [body(series, ks) for ks in chunks(args.readings, args.batch)]
        print(
            f"{args.readings:,} readings in {len(bodies)} bodies of {args.batch:,} "
            f"({sum(map(len, bodies)) / 1e6:.0f} MB of JSON) built in {time.perf_counter() - t0:.0f} s"
        )
        headers = {
            "Authorization": f"Bearer {device}",
            "CompanyID": stack.company_id,
            "Content-Type": "application/json",
        }
        rows = (
            [
                (series[k // PER_SERIES], START + (k % PER_SERIES) * Q, Decimal(value_text(k)), 3)
                for k in range(args.readings)
            ]
            if "copy" in ways
            else []
        )
        for way in [w for w in ways if w in ("gateway", "copy")]:
            await empty_table(dsn)
            before, own = cpu_by_label(root), time.process_time()
            print(f"{way}: load average {os.getloadavg()}", flush=True)
            if way == "gateway":
                seconds = await post_all(stack.gateway, headers, bodies, args.clients)
            else:
                seconds = await copy_all(dsn, rows, args.batch, args.clients)
            cpu[way] = cpu_delta(before, cpu_by_label(root)) | {"bench client": time.process_time() - own}
            n = await stored(dsn, series[0])
            assert n == args.readings, (way, n)
            results[way] = args.readings / seconds
            print(f"{way:8s} {seconds:7.1f} s {results[way]:10,.0f} readings/s  load {os.getloadavg()}", flush=True)
        del bodies, rows
    if "kafka" in ways:
        messages = [
            orjson.dumps(
                {
                    "readings": [
                        {
                            "series_id": series[k // PER_SERIES],
                            "time": iso(START + (k % PER_SERIES) * Q),
                            "value": value_text(k),
                        }
                        for k in ks
                    ]
                }
            )
            for ks in chunks(args.kafka_readings, args.per_message)
        ]
        print(
            f"kafka: {len(messages)} messages of {args.per_message:,} readings ({sum(map(len, messages)) / 1e6:.0f} MB)"
        )
        await empty_table(dsn)
        before, own = cpu_by_label(root), time.process_time()
        print(f"kafka: load average {os.getloadavg()}", flush=True)
        lasts = [
            (series[(ks[-1]) // PER_SERIES], START + (ks[-1] % PER_SERIES) * Q)
            for ks in chunks(args.kafka_readings, args.per_message)
        ]
        seconds, produced = await kafka_all(stack, dsn, messages, lasts, device, args.kafka_readings, series[0])
        cpu["kafka"] = cpu_delta(before, cpu_by_label(root)) | {"bench client": time.process_time() - own}
        results["kafka"] = args.kafka_readings / seconds
        print(
            f"kafka    {seconds:7.1f} s {results['kafka']:10,.0f} readings/s (produced in {produced:.1f} s)  "
            f"load {os.getloadavg()}",
            flush=True,
        )
    print()
    for way, rate in results.items():
        print(f"{way:8s} {rate:10,.0f} readings/s")
    if "copy" in results:
        for way in ("gateway", "kafka"):
            if way in results:
                print(f"{way} / raw COPY = {results[way] / results['copy']:.2f}")
    print("\nCPU seconds per process during each way:")
    for way, usage in cpu.items():
        print(
            f"  {way}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in sorted(usage.items(), key=lambda kv: -kv[1]) if v >= 0.1)
        )
    print(f"\nafter: {steal_and_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readings", type=int, default=10_000_000, help="readings through the gateway and COPY")
    parser.add_argument("--batch", type=int, default=50_000, help="readings per request (10,000..100,000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (and COPY connections)")
    parser.add_argument("--kafka-readings", type=int, default=10_000_000)
    parser.add_argument("--per-message", type=int, default=10_000, help="readings per Kafka message")
    parser.add_argument("--ways", default="gateway,copy,kafka")
    parser.add_argument("--keep", action="store_true", help="keep the stack's data folder and logs")
    parser.add_argument(
        "--no-rollups", action="store_true", help="METERING_ROLLUPS_INLINE=false: what the rollups cost the door"
    )
    parser.add_argument(
        "--web-concurrency", type=int, default=1, help="uvicorn worker processes of every service (WEB_CONCURRENCY)"
    )
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    env = {"WEB_CONCURRENCY": str(args.web_concurrency)}
    if args.no_rollups:
        env["METERING_ROLLUPS_INLINE"] = "false"
    print(f"stack environment {env}")
    with running_stack(keep=args.keep, extra_env=env) as stack:
        asyncio.run(bench(args, stack))


if __name__ == "__main__":
    main()
