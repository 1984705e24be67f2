"""Period limits: a year of one asset's limits in one PATCH, and one day of limits for 100 assets.

Starts an embedded PostgreSQL on a free port, migrates the asset-service, and calls the app in
process (httpx ``ASGITransport``, a signed internal identity header, no gateway, no broker: the
outbox rows are written, nobody relays them). Measures end to end per HTTP request (JSON parsing,
validation, SQL, commit, response serialisation):

* ``PATCH /api/limits``, one absolute entry covering the DE local year 2027 (35,040 quarter hours),
  on a fresh asset each run (all INSERTs) and again on the same asset (all ON CONFLICT updates);
  target < 1 s;
* ``GET /api/limits`` for 100 assets x one delivery day (2 sources per period, 9,600 periods):
  one page of ``limit=1000`` periods (the seed's maximum page), and the whole day (10 pages);
  target < 100 ms.

Not part of ``make test``. Usage: ``.venv/bin/python bench/asset_limits.py [--runs 7]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import date, timedelta

from _common import asset_client, in_process_env, iso, migrated_postgres, operator_headers, p90

from gridcommons.timeutil import delivery_day_bounds

COMPANY = 42
ASSET = {"code": "bench", "name": "Bench", "type": "BESS", "region": "DE", "delivery_area": "50HZ", "provider": "EBX"}


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1000:7.1f} ms  p90 {p90(xs) * 1000:7.1f} ms  min {xs[0] * 1000:7.1f} ms  (n={len(xs)})"


async def run(runs: int, headers: dict[str, str]) -> None:
    async with asset_client("http://asset", run_workers_in_process=False) as c:

        async def new_asset() -> str:
            r = await c.post("/api/assets", json=ASSET, headers=headers)
            r.raise_for_status()
            return str(r.json()["id"])

        # --- 1. one asset, one year of quarter hours, one request ---
        start, _ = delivery_day_bounds(date(2027, 1, 1), "DE")
        end, _ = delivery_day_bounds(date(2028, 1, 1), "DE")
        year = {
            "source": "OPERATIONS",
            "start_time": iso(start),
            "end_time": iso(end),
            "power_charge": {"amount": "-10.5", "unit": "MW"},
            "power_discharge": {"amount": "10.5", "unit": "MW"},
            "energy_low": {"amount": "2", "unit": "MWh"},
            "energy_high": {"amount": "18", "unit": "MWh"},
        }
        # --- baseline: the same requests for a single quarter hour ---
        base_asset = await new_asset()
        one = {**year, "asset_id": base_asset, "end_time": iso(start + timedelta(minutes=15))}
        base_patch: list[float] = []
        base_get: list[float] = []
        one_params = {"asset_ids": base_asset, "from": one["start_time"], "to": one["end_time"]}
        for i in range(3 * runs + 1):
            t0 = time.perf_counter()
            r = await c.patch("/api/limits", json={"limits": [one]}, headers=headers)
            t1 = time.perf_counter()
            r.raise_for_status()
            r = await c.get("/api/limits", params=one_params, headers=headers)
            t2 = time.perf_counter()
            r.raise_for_status()
            if i:
                base_patch.append(t1 - t0)
                base_get.append(t2 - t1)
        print(f"baseline PATCH one quarter hour (1 row): {stats(base_patch)}")
        print(f"baseline GET one period: {stats(base_get)}")

        inserts: list[float] = []
        updates: list[float] = []
        rows = 0
        for i in range(runs + 1):  # the first of each is a warm-up
            asset = await new_asset()
            body = {"limits": [{**year, "asset_id": asset}]}
            t0 = time.perf_counter()
            r = await c.patch("/api/limits", json=body, headers=headers)
            t1 = time.perf_counter()
            r.raise_for_status()
            rows = r.json()["rows"]
            body["limits"][0]["trading_locked"] = True
            t2 = time.perf_counter()
            r = await c.patch("/api/limits", json=body, headers=headers)
            t3 = time.perf_counter()
            r.raise_for_status()
            if i:
                inserts.append(t1 - t0)
                updates.append(t3 - t2)
        x = statistics.median(base_patch)
        print(f"PATCH one asset x one year ({rows} rows), fresh rows (INSERT): {stats(inserts)}"
              f"  {statistics.median(inserts) / x:.0f}x baseline  (target < 1 s)")  # fmt: skip
        print(f"PATCH one asset x one year ({rows} rows), existing rows (UPDATE): {stats(updates)}"
              f"  {statistics.median(updates) / x:.0f}x baseline")  # fmt: skip

        # --- 2. 100 assets, one delivery day, two sources ---
        day = date(2027, 6, 15)
        d0, d1 = delivery_day_bounds(day, "DE")
        assets = [await new_asset() for _ in range(100)]
        for source in ("REPORTED", "CUSTOMER"):
            entries = [
                {
                    "asset_id": a,
                    "source": source,
                    "start_time": iso(d0 - timedelta(days=1)),
                    "end_time": iso(d1 + timedelta(days=1)),
                    "power_charge": {"amount": "-5" if source == "REPORTED" else "-4", "unit": "MW"},
                    "energy_high": {"amount": "9", "unit": "MWh"},
                    "trading_locked": source == "CUSTOMER",
                }
                for a in assets
            ]
            r = await c.patch("/api/limits", json={"limits": entries}, headers=headers)
            r.raise_for_status()
        params = {"asset_ids": ",".join(assets), "from": iso(d0), "to": iso(d1), "limit": 1000}
        pages: list[float] = []
        days: list[float] = []
        periods = 0
        for i in range(runs + 1):
            t_day = time.perf_counter()
            periods = 0
            offset = 0
            while True:
                t0 = time.perf_counter()
                r = await c.get("/api/limits", params={**params, "offset": offset}, headers=headers)
                dt = time.perf_counter() - t0
                r.raise_for_status()
                got = len(r.json()["limits"])
                if i and got:
                    pages.append(dt)
                periods += got
                offset += 1000
                if got < 1000:
                    break
            if i:
                days.append(time.perf_counter() - t_day)
        y = statistics.median(base_get)
        print(f"GET 100 assets x 1 day, one page of 1000 periods x 2 sources: {stats(pages)}"
              f"  {statistics.median(pages) / y:.1f}x baseline  (target < 100 ms)")  # fmt: skip
        print(f"GET 100 assets x 1 day, whole day ({periods} periods, {offset // 1000} pages, "
              f"incl. the client's JSON decoding): {stats(days)}")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with migrated_postgres("gc-bench-limits-", ["asset-service"]) as (_, db_url):
        priv = in_process_env(db_url)
        headers = operator_headers(priv, COMPANY, ttl_seconds=3600)
        print(f"asset_limits: nproc={os.cpu_count()}; python {sys.version.split()[0]}; load {os.getloadavg()}")
        asyncio.run(run(args.runs, headers))
        return 0


if __name__ == "__main__":
    sys.exit(main())
