"""The Modbus poller at scale: simulated meters polled on a fixed interval, readings into the store.

    .venv/bin/python bench/modbus_polling.py [--hosts 1000] [--measurements 10] [--interval 10]
                                             [--duration 60] [--concurrency 200] [--sim-processes 2]

Starts an embedded PostgreSQL on a free port and migrates the metering-service; writes the registry
straight in SQL (one company, an SDM630 model whose first ``--measurements`` registers are assigned on
every host, one series per assignment); starts ``--sim-processes`` simulator processes
(``python -m metering_service.modbus.simulator --ports A:B``) that serve one simulated meter per
loopback port, ``--hosts`` in total. Then runs one ``ModbusPoller`` in this process (the worker as
deployed: advisory locks, one task and one connection per host, the readings service's write path, one
batch per poll) with every host on ``--interval`` seconds, lets the first interval pass (the hosts'
start points are spread over it), and measures ``--duration`` seconds:

* polls/s and readings/s achieved (against the target hosts / interval), readings in the table;
* the poller process's CPU (user + system, ``time.process_time``) per poll;
* interval jitter: lateness of each poll's start after its due time (p50, p99, max);
* failures (a poll that did not read every register).

No broker runs: the outbox rows of the events are written, nobody relays them. The simulators share
the machine's cores with the poller and PostgreSQL (printed: ``nproc`` and the load average).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from _common import ROOT, in_process_env, migrated_postgres

from gridcommons.db import make_engine
from gridcommons.devstack import port_open
from gridcommons.settings import InfraSettings
from metering_service.modbus.poller import ModbusPoller
from metering_service.modbus.sdm import SDM630
from metering_service.modbus.settings import PollerSettings

COMPANY = 7


async def load_registry(dsn: str, hosts: int, measurements: int, first_port: int, interval: float) -> None:
    specs = SDM630[:measurements]
    conn = await asyncpg.connect(dsn)
    try:
        meter = await conn.fetchval(
            "INSERT INTO metering.meters (company_id, name, type) VALUES ($1, 'sdm630', 2) RETURNING id", COMPANY
        )
        await conn.executemany(
            "INSERT INTO metering.measurements (company_id, name, type) VALUES ($1, $2, $3)",
            [(COMPANY, s.measurement, s.measurement_type) for s in specs],
        )
        await conn.executemany(
            "INSERT INTO metering.registers (company_id, meter_id, measurement, address, unit, type, function_code, "
            "word_order) VALUES ($1, $2, $3, $4, $5, $6, $7, 'msw_first')",
            [(COMPANY, meter, s.measurement, s.address, s.unit, int(s.data_type), s.function_code) for s in specs],
        )
        location = await conn.fetchval(
            "INSERT INTO metering.locations (company_id, user_id, street, number, city, zip_code) "
            "VALUES ($1, 1, 'Bench', '1', 'Bench', '00-000') RETURNING id",
            COMPANY,
        )
        host_ids = [
            await conn.fetchval(
                "INSERT INTO metering.hosts (company_id, user_id, location_id, meter_id, ip, port, slave_address, "
                "description, poll_interval_seconds) VALUES ($1, 1, $2, $3, '127.0.0.1', $4, 1, '', $5) RETURNING id",
                COMPANY,
                location,
                meter,
                first_port + h,
                interval,
            )  # fmt: skip
            for h in range(hosts)
        ]
        for host_id in host_ids:
            for s in specs:
                kind = "cumulative" if s.measurement_type == 2 else "instantaneous"
                sid = await conn.fetchval(
                    "INSERT INTO metering.series (company_id, external_key, kind, unit, timezone) "
                    "VALUES ($1, $2, $3, $4, 'Europe/Paris') RETURNING id",
                    COMPANY, f"host:{host_id}/measurement:{s.measurement}", kind, s.unit,
                )  # fmt: skip
                await conn.execute(
                    "INSERT INTO metering.assigned_measurements (company_id, host_id, measurement, series_id) "
                    "VALUES ($1, $2, $3, $4)",
                    COMPANY, host_id, s.measurement, sid,
                )  # fmt: skip
    finally:
        await conn.close()


def start_simulators(first_port: int, hosts: int, processes: int, tmp: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    per = -(-hosts // processes)
    for i in range(processes):
        a, b = first_port + i * per, min(first_port + hosts, first_port + (i + 1) * per) - 1
        if a > b:
            break
        log = open(tmp / f"sim{i}.log", "wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "metering_service.modbus.simulator", "--ports", f"{a}:{b}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )  # fmt: skip
        )
    deadline = time.monotonic() + 120
    while not all(port_open("127.0.0.1", first_port + h) for h in (0, hosts - 1)):
        assert time.monotonic() < deadline, "simulators did not start"
        time.sleep(0.5)
    return procs


async def measure(args: argparse.Namespace, dsn: str) -> None:
    engine = make_engine(InfraSettings(), "bench-modbus-poller")
    settings = PollerSettings(
        refresh_seconds=max(args.duration * 2, 60), max_concurrent=args.concurrency, timeout_seconds=3.0
    )
    poller = ModbusPoller(engine, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await asyncio.sleep(args.interval + 2)  # every host started (random start in its first interval)
    stats = poller.stats
    polls0, readings0, failures0, late0 = stats.polls, stats.readings, stats.failures, len(stats.lateness)
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.duration)
    cpu, elapsed = time.process_time() - cpu0, time.monotonic() - t0
    polls, readings = stats.polls - polls0, stats.readings - readings0
    failures = stats.failures - failures0
    lateness = sorted(list(stats.lateness)[late0:])
    stop.set()
    await task
    await engine.dispose()
    conn = await asyncpg.connect(dsn)
    rows = await conn.fetchval("SELECT count(*) FROM metering.readings")
    await conn.close()
    target = args.hosts / args.interval
    p = lambda q: lateness[min(len(lateness) - 1, int(q * (len(lateness) - 1)))] if lateness else float("nan")  # noqa: E731
    print(f"hosts {args.hosts} x {args.measurements} measurements, interval {args.interval:g} s, "
          f"concurrency {args.concurrency}, {args.sim_processes} simulator processes, {elapsed:.0f} s measured")  # fmt: skip
    print(f"  polls/s      {polls / elapsed:8.1f}  (target {target:.1f})   failures {failures}")
    print(
        f"  readings/s   {readings / elapsed:8.1f}  (target {target * args.measurements:.1f});  rows in readings: {rows}"
    )
    print(f"  poller CPU   {1000 * cpu / max(polls, 1):8.2f} ms per poll ({100 * cpu / elapsed:.0f} % of one core)")
    print(f"  lateness     p50 {1000 * p(0.5):.0f} ms, p99 {1000 * p(0.99):.0f} ms, max {1000 * lateness[-1] if lateness else 0:.0f} ms "
          f"({len(lateness)} polls; mean {1000 * statistics.fmean(lateness) if lateness else 0:.0f} ms)")  # fmt: skip
    print(f"  nproc {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--sim-processes", type=int, default=2)
    parser.add_argument("--first-port", type=int, default=21000)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with migrated_postgres("gc-bench-modbus-", ["metering-service"]) as (tmp, db_url):
        in_process_env(db_url)
        os.environ.setdefault("DB_POOL_SIZE", "10")
        dsn = db_url.replace("+asyncpg", "")
        asyncio.run(load_registry(dsn, args.hosts, args.measurements, args.first_port, args.interval))
        sims = start_simulators(args.first_port, args.hosts, args.sim_processes, tmp)
        try:
            asyncio.run(measure(args, dsn))
        finally:
            for proc in sims:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
