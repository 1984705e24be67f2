"""Downtime and availability: the availability report of a 1,000-unit cluster over a year, and the rate at
which the downtime consumer's handler applies unit data samples.

    .venv/bin/python bench/deal_availability.py [--units 1000] [--per-day 4] [--calls 20]
                                                [--sample-units 200] [--samples 100000] [--batch 500]

An embedded PostgreSQL with deal-service migrated (no broker: the handler is measured, not Kafka), then:

1. availability: ``--units`` units in one cluster of the registry replica (a tenth with an availability
   window starting or ending inside the year), each with a year of downtimes (``--per-day`` a day, 5 to 60
   minutes each, the last one open) and its processing state, bulk-inserted; ANALYZE; then
   ``GET /api/staff/downtime/availability`` over the year, ``--calls`` times, through the app in process
   (ASGI, no TCP, no gateway): p50 / p90 / max;
2. consumer: ``--samples`` samples of ``--sample-units`` units every 30 s (2 % not autonomous, interleaved
   across units as partitions deliver them) through the consumer's batch handler
   (``service.record_samples``, one transaction per ``--batch``, as the ``ConsumerRunner`` calls it),
   first in time order, then the same number delivered late (each batch's samples shuffled and sent
   a batch behind): samples/s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import in_process_env, migrated_postgres, operator_headers, p90
from sqlalchemy import text

from gridcommons.db import make_engine, make_sessionmaker, unit_of_work
from gridcommons.settings import InfraSettings

COMPANY = 1
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)

CLUSTER = """INSERT INTO deal.registry_clusters (id, company_id, community_id, community_code, code, name, version)
             VALUES (2, :company, 1, 'bench_community', 'bench_cluster', 'Bench', 1)"""
# run for units :lo..:hi at a time (one statement for a year of 1,000 units outlasts the engine's timeout)
FILL = [
    # a tenth of the units become available in the year, another tenth leave it
    """INSERT INTO deal.registry_units (id, company_id, community_id, community_code, cluster_id, cluster_code, code,
                                        name, version, available_from, available_to)
       SELECT 1000 + u, :company, 1, 'bench_community', 2, 'bench_cluster', 'E' || lpad(u::text, 4, '0'), 'Unit', 1,
              CASE WHEN u % 10 = 1 THEN CAST(:start AS timestamptz) + (u % 300) * interval '1 day' END,
              CASE WHEN u % 10 = 2 THEN CAST(:start AS timestamptz) + (30 + u % 300) * interval '1 day' END
       FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS u""",
    """INSERT INTO deal.downtime_units (company_id, unit_id, community_code, cluster_code, unit_code, first_time,
                                        last_time, open_since)
       SELECT :company, 1000 + u, 'bench_community', 'bench_cluster', 'E' || lpad(u::text, 4, '0'),
              CAST(:start AS timestamptz) - interval '1 day', CAST(:end AS timestamptz) - interval '1 minute', CAST(:end AS timestamptz) - interval '30 minutes'
       FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS u""",
    # per unit and day, :per_day downtimes of 5..60 minutes spread over the day; the year's last one open
    """INSERT INTO deal.downtimes (company_id, unit_id, community_code, cluster_code, unit_code, down_date_time,
                                   recovery_date_time)
       SELECT :company, 1000 + u, 'bench_community', 'bench_cluster', 'E' || lpad(u::text, 4, '0'),
              CAST(:start AS timestamptz) + d * interval '1 day' + k * (interval '1 day' / CAST(:per_day AS int)) + ((u * 7 + d) % 60) * interval '1 minute',
              CAST(:start AS timestamptz) + d * interval '1 day' + k * (interval '1 day' / CAST(:per_day AS int)) + ((u * 7 + d) % 60) * interval '1 minute'
                + (5 + (u * 13 + d * 3 + k) % 56) * interval '1 minute'
       FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS u, generate_series(0, 364) AS d, generate_series(0, CAST(:per_day AS int) - 1) AS k""",
    """INSERT INTO deal.downtimes (company_id, unit_id, community_code, cluster_code, unit_code, down_date_time)
       SELECT :company, 1000 + u, 'bench_community', 'bench_cluster', 'E' || lpad(u::text, 4, '0'),
              CAST(:end AS timestamptz) - interval '30 minutes'
       FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS u""",
    # each downtime's prefix sum (the seconds of the unit's downtimes before it), as the service keeps it
    """UPDATE deal.downtimes AS d SET downtime_before_sec = p.before
       FROM (SELECT unit_id, down_date_time,
                    coalesce(sum(extract(epoch FROM recovery_date_time - down_date_time)) OVER (
                        PARTITION BY unit_id ORDER BY down_date_time
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
             FROM deal.downtimes
             WHERE company_id = :company AND unit_id BETWEEN 1000 + CAST(:lo AS int) AND 1000 + CAST(:hi AS int)) AS p
       WHERE d.company_id = :company AND d.unit_id = p.unit_id AND d.down_date_time = p.down_date_time""",
]


async def availability(db_url: str, units: int, per_day: int, calls: int) -> None:
    engine = make_engine(InfraSettings(database_url=db_url), application_name="bench")
    params = {"company": COMPANY, "units": units, "per_day": per_day, "start": YEAR_START, "end": YEAR_END}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(CLUSTER), params)
    for lo in range(1, units + 1, 50):
        async with engine.begin() as conn:
            for statement in FILL:
                await conn.execute(text(statement), {**params, "lo": lo, "hi": min(units, lo + 49)})
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        for table in ("registry_units", "downtime_units", "downtimes"):
            await conn.execute(text(f"ANALYZE deal.{table}"))
        rows = (await conn.execute(text("SELECT count(*) FROM deal.downtimes"))).scalar()
    await engine.dispose()
    print(f"filled {units} units, {rows:,} downtimes in {time.perf_counter() - started:.1f}s")

    private_key = in_process_env(db_url)
    from deal_service.app import create_app
    from deal_service.settings import DealSettings

    app = create_app(DealSettings())
    query = {
        "communityId": "bench_community",
        "clusterId": "bench_cluster",
        "datetimeFrom": YEAR_START.isoformat(),
        "datetimeTo": YEAR_END.isoformat(),
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deal", timeout=60) as client:
            times = []
            for i in range(calls + 1):
                headers = operator_headers(private_key, COMPANY)  # short-lived: one per call
                t = time.perf_counter()
                r = await client.get("/api/staff/downtime/availability", params=query, headers=headers)
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, r.text
                print(f"  call {i}: {elapsed:.0f} ms", flush=True)
                if i:  # the first call warms the pool and the plans
                    times.append(elapsed)
            body = r.json()
    times.sort()
    print(
        f"availability, {len(body['units'])} units over a year: p50 {statistics.median(times):.0f} ms, "
        f"p90 {p90(times):.0f} ms, max {times[-1]:.0f} ms (cluster ratio {body['cluster']['ratio']:.4f})"
    )


async def consumer(db_url: str, sample_units: int, samples: int, batch: int) -> None:
    from deal_service.downtime import service
    from deal_service.downtime.schemas import UnitDataSample

    engine = make_engine(InfraSettings(database_url=db_url), application_name="bench")
    sessionmaker = make_sessionmaker(engine)
    tolerance = timedelta(seconds=120)
    rng = random.Random(1)
    per_unit = samples // sample_units

    def make(unit: int, n: int, t0: datetime) -> tuple[int, UnitDataSample]:
        return COMPANY + 1, UnitDataSample(
            unit_id=50_000 + unit,
            community_code="c",
            cluster_code="k",
            unit_code=f"U{unit}",
            time=t0 + timedelta(seconds=30 * n),
            operation_mode="heteronomous" if rng.random() < 0.02 else "autonomous",
        )

    async def run(label: str, stream: list[tuple[int, UnitDataSample]], late: bool) -> None:
        batches = [stream[i : i + batch] for i in range(0, len(stream), batch)]
        if late:  # each batch shuffled and sent after the next one: every other batch arrives late
            for b in batches:
                rng.shuffle(b)
            for i in range(0, len(batches) - 1, 2):
                batches[i], batches[i + 1] = batches[i + 1], batches[i]
        changes = 0
        started = time.perf_counter()
        for b in batches:
            async with unit_of_work(sessionmaker) as session:
                changes += await service.record_samples(session, b, tolerance)
        elapsed = time.perf_counter() - started
        print(
            f"consumer handler, {label}: {len(stream):,} samples in {elapsed:.1f}s = {len(stream) / elapsed:,.0f} samples/s ({changes:,} downtime changes)"
        )

    in_order = [make(u, n, YEAR_START) for n in range(per_unit) for u in range(sample_units)]
    await run("in order", in_order, late=False)
    later = [make(u, n, YEAR_START + timedelta(days=30)) for n in range(per_unit) for u in range(sample_units)]
    await run("shuffled, every other batch late", later, late=True)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--sample-units", type=int, default=200)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with migrated_postgres("deal-availability-", ["deal-service"]) as (_, db_url):
        asyncio.run(availability(db_url, args.units, args.per_day, args.calls))
        if args.samples:
            asyncio.run(consumer(db_url, args.sample_units, args.samples, args.batch))


if __name__ == "__main__":
    main()
