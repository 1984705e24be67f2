"""CPU time the asset-service spends per DB-backed ``GET /api/assets/{id}`` (no wrk needed).

    .venv/bin/python bench/service_request_cpu.py [--requests 2000] [--concurrency 4] [--runs 3]

Starts an embedded PostgreSQL, migrates the asset-service, starts it as ``make run`` does (uvicorn
``--loop uvloop --http httptools``, one process), creates one asset with a signed operator
identity, then sends ``--requests`` keep-alive GETs from ``--concurrency`` connections of an
aiohttp client in this process, and divides the service process's CPU time (utime + stime of
``/proc/<pid>/stat``) by the number of requests. 300 warm-up requests first; median of
``--runs``. The client's own CPU is not counted (another process), PostgreSQL's neither.

``BENCH_PROFILE=/tmp/asset.prof`` runs the service under cProfile (the CPU figures then include
the profiler's overhead; read the profile with ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
import httpx
from _common import in_process_env, migrated_postgres, operator_headers
from gateway_overhead import cpu_seconds, uvicorn, wait_http

from gridcommons.devstack import free_port

ASSET = {"code": "bench", "name": "Bench", "type": "BESS", "region": "DE", "delivery_area": "50HZ", "provider": "EBX"}


async def hammer(url: str, headers: dict[str, str], requests: int, concurrency: int) -> int:
    ok = 0
    left = requests

    async def one_connection(session: aiohttp.ClientSession) -> None:
        nonlocal ok, left
        while left > 0:
            left -= 1
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                ok += resp.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one_connection(session) for _ in range(concurrency)))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    profile = Path(os.environ["BENCH_PROFILE"]).resolve() if os.environ.get("BENCH_PROFILE") else None
    with migrated_postgres("gc-bench-cpu-", ["asset-service"]) as (tmp, db_url):
        private = in_process_env(db_url)
        port = free_port()
        env = dict(os.environ)
        proc = uvicorn("asset_service.app:create_app", port, env, Path(tempfile.mkdtemp()) / "asset.log", profile)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", proc, timeout=180)
            headers = operator_headers(private, 4242)
            created = httpx.post(f"{base}/api/assets", json=ASSET, headers=headers, timeout=10)
            created.raise_for_status()
            url = f"{base}/api/assets/{created.json()['id']}"
            assert httpx.get(url, headers=headers).status_code == 200
            asyncio.run(hammer(url, headers, 300, args.concurrency))
            per_request = []
            for run in range(1, args.runs + 1):
                headers = operator_headers(private, 4242)  # internal identities live 60 s: a fresh one per run
                httpx.get(url, headers=headers).raise_for_status()  # verified once, then cached
                cpu0 = cpu_seconds(proc.pid)
                ok = asyncio.run(hammer(url, headers, args.requests, args.concurrency))
                assert ok == args.requests, f"{args.requests - ok} requests failed"
                ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / args.requests
                per_request.append(ms)
                print(f"run {run}: {ms:.3f} ms CPU per request (load average {os.getloadavg()[0]:.1f})", flush=True)
            print(
                f"service CPU per GET /api/assets/{{id}}: median {statistics.median(per_request):.3f} ms "
                f"[{min(per_request):.3f}-{max(per_request):.3f}] over {args.runs} runs of {args.requests}; "
                f"nproc {os.cpu_count()}, python {sys.version.split()[0]}"
            )
        finally:
            proc.terminate()
            proc.wait(30)
            if profile is not None:
                print(f"profile written to {profile}")


if __name__ == "__main__":
    main()
