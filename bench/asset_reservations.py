"""Asset reservations: one 1,000-item reservation upsert (POST /api/reservations) in one request.

Starts an embedded PostgreSQL on a free port (no broker: the write path only touches PostgreSQL —
events go to the outbox table; the relay is not running), migrates the asset-service, and calls
the asset-service app in-process through ``httpx.ASGITransport`` with a signed internal identity
(so the figures are the service's own cost: validation, asset lookup, the one INSERT … SELECT
FROM unnest … ON CONFLICT statement, the outbox rows, the response; no TCP, no gateway).

Cases, each after WARMUP untimed requests, RUNS timed requests (median / p90 / min / max):

* baseline: a 1-item reservation upsert (same path, same asset) — the fixed cost per request;
* insert:   1,000 new rows per request (4 assets x 250 quarter hours; every run a fresh day);
* update:   the same 1,000 keys re-submitted (every row hits ON CONFLICT DO UPDATE);

and prints each as a ratio to the baseline. Target: a 1,000-item upsert under 150 ms.

Not part of ``make test``. Usage: ``.venv/bin/python bench/asset_reservations.py [--runs 20] [--warmup 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from _common import asset_client, in_process_env, iso, migrated_postgres, operator_headers, p90

Q = timedelta(minutes=15)
ASSETS = 4
ITEMS = 1000


def batch(asset_ids: list[str], day0: datetime, n: int, power: str) -> dict[str, object]:
    items = []
    for i in range(n):
        start = day0 + (i // len(asset_ids)) * Q
        items.append(
            {
                "asset_id": asset_ids[i % len(asset_ids)],
                "start_time": iso(start),
                "end_time": iso(start + Q),
                "market": "DA",
                "source": "OPTIMISATION",
                "power": {"amount": power, "unit": "MW"},
                "energy_change": {"amount": "-0.375", "unit": "MWh"},
                "energy_buffer_low": {"amount": "0.5", "unit": "MWh"},
                "energy_buffer_high": {"amount": "1.25", "unit": "MWh"},
            }
        )
    return {"reservations": items}


def stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "median": statistics.median(ordered),
        "p90": p90(ordered),
        "min": ordered[0],
        "max": ordered[-1],
    }


async def run(args: argparse.Namespace, db_url: str) -> None:
    headers = operator_headers(os.environ["GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY"], 1)
    async with asset_client("http://asset-service") as c:
        asset_ids = []
        for i in range(ASSETS):
            r = await c.post(
                "/api/assets",
                json={
                    "code": f"bench{i}",
                    "name": "Bench battery",
                    "type": "BESS",
                    "region": "DE",
                    "delivery_area": "50HZ",
                    "provider": "ENTELIOS",
                },
                headers=headers,
            )
            r.raise_for_status()
            asset_ids.append(r.json()["id"])

        async def timed(body: dict[str, object], expect: int) -> float:
            t0 = time.perf_counter()
            r = await c.post("/api/reservations", json=body, headers=headers)
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 200 or len(r.json()["reservations"]) != expect:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
            return elapsed

        base_day = datetime(2027, 1, 1, tzinfo=UTC)
        day = iter(range(10_000))
        results: dict[str, list[float]] = {
            "baseline (1 item)": [],
            "insert (1000 new)": [],
            "update (1000 existing)": [],
        }
        fixed = batch(asset_ids, base_day - timedelta(days=1), ITEMS, "1.5")
        await timed(fixed, ITEMS)  # the keys the update case re-submits
        for i in range(args.warmup + args.runs):
            timed_run = i >= args.warmup
            one = await timed(batch(asset_ids[:1], base_day, 1, str(i)), 1)
            new = await timed(batch(asset_ids, base_day + next(day) * timedelta(days=3), ITEMS, "2.5"), ITEMS)
            upd = await timed(batch(asset_ids, base_day - timedelta(days=1), ITEMS, f"{i}.5"), ITEMS)
            if timed_run:
                results["baseline (1 item)"].append(one)
                results["insert (1000 new)"].append(new)
                results["update (1000 existing)"].append(upd)

    base = statistics.median(results["baseline (1 item)"])
    print(
        f"\nasset_reservations: {args.runs} runs after {args.warmup} warm-up rounds, in-process ASGI, PostgreSQL {db_url.rsplit('@', 1)[-1]}"
    )
    print(f"{'case':<26}{'median ms':>10}{'p90 ms':>9}{'min':>8}{'max':>8}{'x baseline':>12}")
    for name, ms in results.items():
        s = stats(ms)
        print(
            f"{name:<26}{s['median']:>10.1f}{s['p90']:>9.1f}{s['min']:>8.1f}{s['max']:>8.1f}{s['median'] / base:>12.1f}"
        )
    worst = max(stats(results[k])["median"] for k in ("insert (1000 new)", "update (1000 existing)"))
    print(f"target: 1,000-item upsert < 150 ms -> {'met' if worst < 150 else 'NOT met'} (worst median {worst:.1f} ms)")
    print(f"load average: {os.getloadavg()}, nproc: {os.cpu_count()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    with migrated_postgres("gc-bench-res-", ["asset-service"]) as (_, db_url):
        in_process_env(db_url)
        asyncio.run(run(args, db_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
