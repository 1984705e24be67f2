"""Rollups and the energy balance of the metering-service: read times, and what maintaining the
rollups in the ingestion transaction costs the ingestion.

    .venv/bin/python bench/metering_rollups.py [--consumers 50] [--repeat 20] [--power-production]

Starts an embedded PostgreSQL (default settings), migrates the metering-service and runs its app in
process (httpx ASGI transport: no TCP, no gateway, no broker; the outbox rows are written, nobody relays
them). 1 production + ``--consumers`` consumption series (cumulative, kWh, Europe/Paris), each with a
year (2026) of 15-minute register readings, posted one series-year (35,040 readings) per request
(``--power-production``: the production series is a power series, instantaneous kW, instead: the
balance then meets registers and power in its finer integer base):

* ingest with rollups off (``METERING_ROLLUPS_INLINE=false``), then on (default), each on emptied
  tables: readings/s of the whole load (one client), then the median time of small requests: one more
  series fed one day (96 readings) per request over the year, as a meter's daily push;
* the daily rollup of one series over the year (``GET .../readings?resolution=1d``, 365 local days),
  median of ``--repeat`` calls, and the monthly one;
* the energy balance of the 1 + N series over the year (35,040 quarter hours with intervals, and
  without: daily sums only) and over one month, through HTTP (JSON included) and the service function alone.

Prints the medians with their range, ``nproc`` and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from _common import in_process_env, migrated_postgres, operator_headers

PER_SERIES = 35_040
START = datetime(2025, 12, 31, 23, tzinfo=UTC)  # Paris midnight of 1 January 2026
Q = timedelta(minutes=15)
COMPANY = 7


def z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def series_body(sid: int, power: bool = False) -> bytes:
    counter = 1000.0 * sid
    readings = []
    for k in range(PER_SERIES + 1):  # the reading at the year's end closes its last quarter
        step = ((k * 7919 + sid * 104729) % 1000) / 1000.0
        value = f"{step * 12.0:.3f}" if power else f"{counter:.3f}"  # power: 0..12 kW
        readings.append({"series_id": sid, "time": z(START + k * Q), "value": value})
        counter += step * (3.0 if sid == 1 else 0.08)
    return orjson.dumps({"readings": readings})


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, float]:
    await call()  # warm
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        await call()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs), min(runs), max(runs)


async def load(client: httpx.AsyncClient, headers: Callable[[], dict[str, str]], bodies: list[bytes]) -> float:
    t = time.perf_counter()
    for body in bodies:
        r = await client.post(
            "/api/ingest/meter-readings", content=body, headers={**headers(), "content-type": "application/json"}
        )
        assert r.status_code == 200, r.text[:300]
    return time.perf_counter() - t


async def bench(args: argparse.Namespace, db_url: str) -> None:
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}, power production {args.power_production}")
    private_key = in_process_env(db_url)
    dsn = db_url.replace("+asyncpg", "")
    n_series = 1 + args.consumers
    conn = await asyncpg.connect(dsn)
    try:
        for m in range(1, 13):
            await conn.execute(
                f"CREATE TABLE metering.readings_y2026m{m:02d} PARTITION OF metering.readings FOR VALUES FROM "
                f"('2026-{m:02d}-01 00:00+00') TO ('{2026 + m // 12}-{m % 12 + 1:02d}-01 00:00+00')"
            )
        await conn.execute(
            "CREATE TABLE metering.readings_y2025m12 PARTITION OF metering.readings FOR VALUES FROM "
            "('2025-12-01 00:00+00') TO ('2026-01-01 00:00+00')"
        )
        power = args.power_production
        await conn.executemany(
            "INSERT INTO metering.series (id, company_id, external_key, kind, unit, timezone) "
            "OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, 'Europe/Paris')",
            [
                (
                    k,
                    COMPANY,
                    f"bench-{k}/energy",
                    *(("instantaneous", "kW") if power and k == 1 else ("cumulative", "kWh")),
                )
                for k in range(1, n_series + 2)  # the last: daily pushes
            ],
        )
    finally:
        await conn.close()
    bodies = [series_body(sid, args.power_production and sid == 1) for sid in range(1, n_series + 1)]
    readings = n_series * (PER_SERIES + 1)
    daily = orjson.loads(series_body(n_series + 1))["readings"]
    day_bodies = [orjson.dumps({"readings": daily[d * 96 : (d + 1) * 96]}) for d in range(365)]

    def headers() -> dict[str, str]:
        return operator_headers(private_key, COMPANY)

    from metering_service.app import create_app
    from metering_service.balance import service as balance_service
    from metering_service.balance.schemas import EnergyBalanceRequest
    from metering_service.settings import MeteringSettings

    rates: dict[str, float] = {}
    for way, inline in (("rollups off", False), ("rollups on", True)):
        conn = await asyncpg.connect(dsn)
        await conn.execute("TRUNCATE metering.readings, metering.rollup_days, metering.outbox")
        await conn.execute("CHECKPOINT")
        await conn.close()
        app = create_app(MeteringSettings(rollups_inline=inline))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://metering", timeout=600) as client:
                seconds = await load(client, headers, bodies)
                per_day = [await load(client, headers, [body]) * 1000 for body in day_bodies]
        rates[way] = readings / seconds
        print(
            f"ingest {way:11s} {readings:,} readings in {seconds:6.1f} s: {rates[way]:9,.0f} readings/s  load {os.getloadavg()}"
        )
        print(
            f"ingest {way:11s} one day (96 readings) per request: median {statistics.median(per_day):.1f} ms "
            f"[{min(per_day):.1f}–{max(per_day):.1f}] of 365"
        )
    print(f"ingest with rollups / without = {rates['rollups on'] / rates['rollups off']:.2f}")

    conn = await asyncpg.connect(dsn)
    await conn.execute("VACUUM ANALYZE metering.rollup_days")
    await conn.close()
    app = create_app(MeteringSettings())
    year = {"from": z(START), "to": z(START + PER_SERIES * Q)}
    month = {"from": "2026-06-01T00:00:00+02:00", "to": "2026-07-01T00:00:00+02:00"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://metering", timeout=600) as client:

            def get(resolution: str) -> Callable[[], Awaitable[Any]]:
                async def call() -> None:
                    r = await client.get(
                        "/api/metering/series/2/readings", params={**year, "resolution": resolution}, headers=headers()
                    )
                    assert r.status_code == 200, r.text[:300]

                return call

            def post(period: dict[str, str], intervals: bool = True) -> Callable[[], Awaitable[Any]]:
                body = {
                    "production": [1],
                    "consumption": list(range(2, n_series + 1)),
                    **period,
                    "intervals": intervals,
                }

                async def call() -> None:
                    r = await client.post("/api/metering/energy-balance", json=body, headers=headers())
                    assert r.status_code == 200, r.text[:300]

                return call

            sessionmaker = app.state.sessionmaker

            def direct(period: dict[str, str]) -> Callable[[], Awaitable[Any]]:
                body = EnergyBalanceRequest.model_validate(
                    {"production": [1], "consumption": list(range(2, n_series + 1)), **period}
                )

                async def call() -> None:
                    async with sessionmaker() as session:
                        await balance_service.energy_balance(session, COMPANY, body)

                return call

            cases: list[tuple[str, Callable[[], Awaitable[Any]], int]] = [
                ("daily rollup, 1 series × year (HTTP)", get("1d"), args.repeat),
                ("monthly rollup, 1 series × year (HTTP)", get("1mo"), args.repeat),
                ("quarter-hour rollup, 1 series × year (HTTP)", get("15m"), 5),
                (f"balance 1+{args.consumers} × year, intervals (HTTP)", post(year), 5),
                (f"balance 1+{args.consumers} × year, daily sums only (HTTP)", post(year, False), 5),
                (f"balance 1+{args.consumers} × month, intervals (HTTP)", post(month), args.repeat),
            ]
            cases += [
                (f"balance 1+{args.consumers} × year (service function)", direct(year), 5),
                (f"balance 1+{args.consumers} × month (service function)", direct(month), args.repeat),
            ]
            for label, call, repeat in cases:
                med, lo, hi = await timed(call, repeat)
                print(f"{label:55s} median {med:7.1f} ms [{lo:.1f}–{hi:.1f}] of {repeat}  load {os.getloadavg()}")
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--consumers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--power-production", action="store_true", help="the production series is power (kW)")
    args = parser.parse_args()
    with migrated_postgres("gc-bench-rollups-", ["metering-service"]) as (_tmp, db_url):
        asyncio.run(bench(args, db_url))
