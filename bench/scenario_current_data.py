"""Service time of the devices' polling door ``POST /api/misc/scenario/currentData`` (target < 5 ms).

    .venv/bin/python bench/scenario_current_data.py [--requests 2000] [--runs 3]

Starts an embedded PostgreSQL, migrates community-service, starts it as ``make run`` does (uvicorn
``--loop uvloop --http httptools``, one process), writes a registry (1 community, 1 cluster, 50 units,
one resident each) straight into its tables, creates 20 scenarios through the staff API and lets each
unit's resident choose one (so the newest-choice lookup reads a history, not one row). Then, from one
keep-alive connection of an aiohttp client in this process (one request at a time: the figure is the
service time plus loopback, not queueing), it sends ``--requests`` form POSTs of ``currentData`` for
units in turn, and as the baseline as many ``GET /healthz`` (no database, no identity): the floor of
the framework and the connection. Prints p50 / p90 / p99 latency of both, their ratio, and the service
process's CPU time per request (``/proc/<pid>/stat``); median of ``--runs``. 300 warm-up requests first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import httpx
from _common import in_process_env, migrated_postgres, operator_headers, p90
from gateway_overhead import cpu_seconds, uvicorn, wait_http

from community_service.scenarios.examples import HIGH_PRIORITY
from gridcommons.devstack import free_port
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner

COMPANY = 4242
UNITS = 50
SCENARIOS = 20
FIRST_USER = 900_000


async def make_registry(db_url: str) -> list[dict[str, str]]:
    """The units' forms (codes); unit i's resident is user FIRST_USER + i."""
    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        community = await conn.fetchval(
            "INSERT INTO community.communities (company_id, code, name) VALUES ($1, 'bench', 'Bench') RETURNING id",
            COMPANY,
        )
        cluster = await conn.fetchval(
            "INSERT INTO community.clusters (company_id, community_id, code, name) VALUES ($1, $2, 'k1', 'K1') "
            "RETURNING id",
            COMPANY,
            community,
        )
        forms = []
        for i in range(UNITS):
            code = f"E{i:03d}"
            unit = await conn.fetchval(
                "INSERT INTO community.units (company_id, community_id, cluster_id, code, name) "
                "VALUES ($1, $2, $3, $4, $4) RETURNING id",
                COMPANY,
                community,
                cluster,
                code,
            )
            await conn.execute(
                "INSERT INTO community.unit_residents (unit_id, user_id, company_id) VALUES ($1, $2, $3)",
                unit,
                FIRST_USER + i,
                COMPANY,
            )
            forms.append({"communityId": "bench", "clusterId": "k1", "unitId": code})
        return forms
    finally:
        await conn.close()


def resident_headers(private_key: str, i: int) -> dict[str, str]:
    ident = Identity(subject=str(FIRST_USER + i), kind="user", company_id=COMPANY, roles=frozenset({"member"}))
    return {INTERNAL_IDENTITY_HEADER: IdentitySigner(private_key).sign(ident)}


async def timed(base: str, private_key: str, forms: list[dict[str, str]], n: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) of ``n`` currentData POSTs and ``n`` /healthz GETs, one at a time, interleaved."""
    headers = [resident_headers(private_key, i) for i in range(len(forms))]
    door, floor = [], []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for k in range(n):
            i = k % len(forms)
            t0 = time.perf_counter()
            async with session.post(f"{base}/api/misc/scenario/currentData", data=forms[i], headers=headers[i]) as r:
                body = await r.read()
                assert r.status == 200 and body, (r.status, body[:200])
            t1 = time.perf_counter()
            async with session.get(f"{base}/healthz") as r:
                await r.read()
                assert r.status == 200
            t2 = time.perf_counter()
            door.append((t1 - t0) * 1000)
            floor.append((t2 - t1) * 1000)
    return sorted(door), sorted(floor)


def _pcts(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):.2f} ms, p90 {p90(ms):.2f} ms, p99 {ms[int(0.99 * (len(ms) - 1))]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with migrated_postgres("gc-bench-scenario-", ["community-service"]) as (tmp, db_url):
        private = in_process_env(db_url)
        forms = asyncio.run(make_registry(db_url))
        port = free_port()
        proc = uvicorn(
            "community_service.app:create_app", port, dict(os.environ), Path(tempfile.mkdtemp()) / "community.log", None
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", proc, timeout=180)
            staff = operator_headers(private, COMPANY)
            ids = []
            for s in range(SCENARIOS):
                r = httpx.post(
                    f"{base}/api/community/scenarios",
                    json={"name": f"S{s:02d}", "data": HIGH_PRIORITY, "communityId": "bench"},
                    headers=staff,
                    timeout=10,
                )
                r.raise_for_status()
                ids.append(r.json()["id"])
            for i, form in enumerate(forms):  # every unit chose several times; the newest counts
                for s in range(i % 5 + 1):
                    r = httpx.post(
                        f"{base}/api/resident/scenario/choose",
                        params={**form, "scenarioId": ids[(i + s) % SCENARIOS]},
                        headers=resident_headers(private, i),
                    )
                    assert r.status_code == 200, r.text
            asyncio.run(timed(base, private, forms, 300))
            p50s, ratios, cpu = [], [], []
            for run in range(1, args.runs + 1):
                cpu0 = cpu_seconds(proc.pid)
                door, floor = asyncio.run(timed(base, private, forms, args.requests))
                cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / (2 * args.requests)
                p50s.append(statistics.median(door))
                ratios.append(statistics.median(door) / statistics.median(floor))
                cpu.append(cpu_ms)
                print(
                    f"run {run}: currentData {_pcts(door)} | baseline /healthz {_pcts(floor)} | "
                    f"ratio p50 {ratios[-1]:.2f}x | service CPU {cpu_ms:.3f} ms per request (both kinds) | "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            print(
                f"currentData p50 median {statistics.median(p50s):.2f} ms [{min(p50s):.2f}-{max(p50s):.2f}], "
                f"{statistics.median(ratios):.2f}x the /healthz floor; over {args.runs} runs of {args.requests}; "
                f"nproc {os.cpu_count()}, python {sys.version.split()[0]}"
            )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
