"""Does the ingestion door slow down as the readings table grows? The same fresh batches posted to
``POST /api/ingest/meter-readings`` with 1 M, 10 M and 100 M readings stored.

    .venv/bin/python bench/metering_ingest_scale.py [--sizes 1000000,10000000,100000000] [--fresh 1000000]
        [--batch 50000] [--clients 4] [--runs 1]

An embedded PostgreSQL (default settings, as ``make run``: 128 MB of shared buffers, so at 100 M rows
the table and its index do not fit in them) with the metering-service migrated and run as one uvicorn
process (uvloop, httptools; straight to the service with a signed internal identity: the gateway adds
the same small cost at every size, ``bench/metering_ingest_gateway.py``), the 2026 partitions created.

The **fresh** load: ``--fresh`` readings of ``--meters`` meters (series 1..1000, instantaneous kW) from
2026-07-01 00:00 UTC on, a meter's quarter hours in time order, ``--batch`` readings a request
(``--batch / (fresh / meters)`` meters each), posted by ``--clients`` concurrent clients: new readings
of known meters, which take the append path (COPY) and recompute the rollups of the days written.

The **stored** history, generated in PostgreSQL (``INSERT ... SELECT`` over ``generate_series``, sorted
by series and time, then ``VACUUM ANALYZE`` and ``CHECKPOINT``), grows to each size in turn:

* the fresh meters' last week before the fresh load (1000 × 672 quarter hours), so the fresh
  batches continue stored series;
* other meters' whole 2026 at quarter hours (series 1001 on, 35,040 readings each): every monthly
  partition, July's included (where the fresh readings go), grows with the table.

Before each measurement the fresh readings of the previous one are deleted (and their rollups), the
July partition vacuumed: every size gets the same batches on the same keys. Prints the rate at each
size and the ratio to the first, with the table's size on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from _common import in_process_env, migrated_postgres, operator_headers
from metering_ingest import post_all, service, wait_ready

from gridcommons.devstack import free_port

START = datetime(2026, 7, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
COMPANY = 7
WEEK = 7 * 96  # the fresh meters' stored past, in quarter hours
YEAR = 35_040


def fresh_bodies(meters: int, fresh: int, batch: int) -> list[bytes]:
    import orjson

    per_meter = fresh // meters
    out = []
    rows = [(m + 1, q) for m in range(meters) for q in range(per_meter)]
    for start in range(0, len(rows), batch):
        out.append(
            orjson.dumps(
                {
                    "readings": [
                        {
                            "series_id": m,
                            "time": (START + q * Q).isoformat().replace("+00:00", "Z"),
                            "value": f"{(m * 7919 + q * 37) % 100_000 / 1000:.3f}",
                        }
                        for m, q in rows[start : start + batch]
                    ]
                }
            )
        )
    return out


HISTORY_OF_FRESH = """
INSERT INTO metering.readings (series_id, ts, value, quality)
SELECT s, $1::timestamptz - (q + 1) * interval '15 minutes', round((random() * 1000)::numeric, 3), 3
FROM generate_series(1, $2::int) s, generate_series($3::int - 1, 0, -1) q
"""
# reading i of the other meters: series 1001 + i / YEAR, quarter i % YEAR of 2026
HISTORY_OF_OTHERS = """
INSERT INTO metering.readings (series_id, ts, value, quality)
SELECT $1::bigint + i / 35040, timestamptz '2026-01-01 00:00+00' + (i % 35040) * interval '15 minutes',
       round((random() * 1000)::numeric, 3), 3
FROM generate_series($2::bigint, $3::bigint - 1) i
"""


async def grow_to(dsn: str, size: int, meters: int, have_others: int) -> int:
    """Add the other meters' readings until ``size`` readings are stored; returns the others' count."""
    others = max(0, size - meters * WEEK)
    if others <= have_others:
        return have_others
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        step = 5_000_000  # one statement per step: progress shows, a statement's memory stays small
        for lo in range(have_others, others, step):
            hi = min(others, lo + step)
            series_needed = 1001 + (hi - 1) // YEAR
            await conn.execute(
                "INSERT INTO metering.series (id, company_id, external_key, kind, unit, timezone) "
                "OVERRIDING SYSTEM VALUE SELECT s, $1, 'bench-' || s || '/power', 'instantaneous', 'kW', "
                "'Europe/Paris' FROM generate_series(1001, $2::bigint) s ON CONFLICT DO NOTHING",
                COMPANY,
                series_needed,
            )
            await conn.execute(HISTORY_OF_OTHERS, 1001, lo, hi)
            rate = (hi - have_others) / (time.perf_counter() - t0)
            print(f"  stored {meters * WEEK + hi:,} readings ({rate:,.0f} rows/s generated)", flush=True)
        await conn.execute("VACUUM ANALYZE metering.readings")
        await conn.execute("CHECKPOINT")
        return others
    finally:
        await conn.close()


async def forget_fresh(dsn: str, meters: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM metering.readings WHERE series_id <= $1 AND ts >= $2", meters, START)
        await conn.execute("DELETE FROM metering.rollup_days WHERE series_id <= $1", meters)
        await conn.execute("DELETE FROM metering.outbox")
        await conn.execute("VACUUM ANALYZE metering.readings_y2026m07, metering.rollup_days")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def table_facts(dsn: str) -> tuple[int, str]:
    conn = await asyncpg.connect(dsn)
    try:
        n = await conn.fetchval("SELECT count(*) FROM metering.readings")
        size = await conn.fetchval(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'metering.readings'::regclass"
        )
        return int(n), str(size)
    finally:
        await conn.close()


async def bench(args: argparse.Namespace, tmp: object, db_url: str) -> None:
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    private_key = in_process_env(db_url)
    dsn = db_url.replace("+asyncpg", "")
    sizes = [int(s) for s in args.sizes.split(",")]
    conn = await asyncpg.connect(dsn)
    try:
        for m in range(1, 13):
            await conn.execute(
                f"CREATE TABLE metering.readings_y2026m{m:02d} PARTITION OF metering.readings "
                f"FOR VALUES FROM ('2026-{m:02d}-01 00:00+00') TO ('{2026 + m // 12}-{m % 12 + 1:02d}-01 00:00+00')"
            )
        await conn.execute(
            "INSERT INTO metering.series (id, company_id, external_key, kind, unit, timezone) "
            "OVERRIDING SYSTEM VALUE SELECT s, $1, 'meter-' || s || '/power', 'instantaneous', 'kW', 'Europe/Paris' "
            "FROM generate_series(1, $2::int) s",
            COMPANY,
            args.meters,
        )
        await conn.execute(HISTORY_OF_FRESH, START, args.meters, WEEK)
    finally:
        await conn.close()
    bodies = fresh_bodies(args.meters, args.fresh, args.batch)
    fresh = sum(len(b) for b in bodies)
    print(f"fresh load: {args.fresh:,} readings of {args.meters} meters, {len(bodies)} bodies ({fresh / 1e6:.0f} MB)")
    port = free_port()
    proc = service(port, "http append", tmp / "metering.log", 1)  # type: ignore[operator]
    url = f"http://127.0.0.1:{port}"
    others = 0
    results: dict[int, list[float]] = {}
    try:
        await wait_ready(url)
        for size in sizes:
            others = await grow_to(dsn, size, args.meters, others)
            for run in range(args.runs):
                await forget_fresh(dsn, args.meters)
                stored, on_disk = await table_facts(dsn)
                load = os.getloadavg()
                seconds = await post_all(url, lambda: operator_headers(private_key, COMPANY), bodies, args.clients)
                rate = args.fresh / seconds
                results.setdefault(size, []).append(rate)
                print(
                    f"{stored:>12,} stored ({on_disk}): run {run + 1} {seconds:6.1f} s {rate:10,.0f} readings/s  "
                    f"load {load[0]:.1f} -> {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(10)
    first = statistics.median(results[sizes[0]])
    print()
    for size, rates in results.items():
        med = statistics.median(rates)
        print(f"{size:>12,} stored: {med:10,.0f} readings/s  ({med / first:.2f}× the first size)")
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000000,10000000,100000000", help="stored readings, in order")
    parser.add_argument("--fresh", type=int, default=1_000_000, help="readings posted at each size")
    parser.add_argument("--meters", type=int, default=1000, help="meters of the fresh load")
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with migrated_postgres("gc-bench-metering-scale-", ["metering-service"]) as (tmp, db_url):
        asyncio.run(bench(args, tmp, db_url))
