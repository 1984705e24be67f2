"""Rows per second of a CSV import (``POST /api/metering/series/{id}/import``) and the service's peak
memory, which must not grow with the file.

    .venv/bin/python bench/metering_import.py [--rows 1000000] [--rows 3000000 ...]

Starts an embedded PostgreSQL, migrates the metering-service and runs it as a uvicorn subprocess
(one worker, uvloop, httptools; no broker: the readings events stay in the outbox). For each
``--rows`` a new series gets a file of quarter-hour readings (``time,value,quality``, ≈ 45 bytes a
line) written to disk first, then streamed from the file in 256 KiB blocks straight to the service
with a signed internal identity. Prints rows/s, MB/s and the service process's peak resident memory
(``VmHWM``) after each file, with ``nproc`` and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _common import in_process_env, migrated_postgres, operator_headers
from metering_ingest import service, wait_ready

from gridcommons.devstack import free_port

COMPANY = 7
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def write_file(path: Path, rows: int) -> None:
    with path.open("w") as f:
        f.write("time,value,quality\n")
        t = T0
        for k in range(rows):
            f.write(f"{t.isoformat().replace('+00:00', 'Z')},{k % 100_000 / 8:.3f},measured\n")
            t += timedelta(minutes=15)


async def blocks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(256 * 1024):
            yield block


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench(args: argparse.Namespace, tmp: Path, db_url: str) -> None:
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}", flush=True)
    private_key = in_process_env(db_url)
    port = free_port()
    proc = service(port, "http append", tmp / "service.log", 1)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url)
        async with httpx.AsyncClient(base_url=url, timeout=7200) as client:
            for i, rows in enumerate(args.rows):
                headers = operator_headers(private_key, COMPANY)
                r = await client.post(
                    "/api/metering/series",
                    json={"external_key": f"bench-import-{i}/energy", "kind": "instantaneous", "unit": "kW"},
                    headers=headers,
                )
                assert r.status_code == 201, r.text
                path = tmp / f"import-{rows}.csv"
                write_file(path, rows)
                size = path.stat().st_size
                start = time.perf_counter()
                r = await client.post(
                    f"/api/metering/series/{r.json()['id']}/import",
                    content=blocks(path),
                    headers={**operator_headers(private_key, COMPANY), "content-type": "text/csv"},
                )
                elapsed = time.perf_counter() - start
                assert r.status_code == 201 and r.json()["rows_written"] == rows, r.text[:500]
                print(
                    f"{rows:,} rows ({size / 1e6:.0f} MB): {rows / elapsed:,.0f} rows/s, {size / 1e6 / elapsed:.1f} MB/s, "
                    f"{elapsed:.1f} s; service peak RSS {peak_rss_mb(proc.pid):.0f} MB",
                    flush=True,
                )
                path.unlink()
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"load average after {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append", help="rows of one file (repeatable)")
    args = parser.parse_args()
    args.rows = args.rows or [1_000_000]
    with migrated_postgres("gc-bench-import-", ["metering-service"]) as (tmp, db_url):
        asyncio.run(bench(args, tmp, db_url))


if __name__ == "__main__":
    main()
