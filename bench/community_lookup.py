"""What the community registry replica's lookups cost on a large replica: the gateway's form-door
query (community code → the user's company), the resident guard's unit lookup and the resident's
units, each as one session + one query (as a request pays them).

    .venv/bin/python bench/community_lookup.py [--companies 10000] [--large 20000] [--calls 2000]

An embedded PostgreSQL with the gateway migrated (its ``registry_*`` replica tables); per company 5
communities, 10 clusters and 50 units (2 residents each), plus one large company of ``--large``
units (one resident each: where the residents' GIN index, not the company's, finds them). ANALYZE, then
each lookup ``--calls`` times with random arguments; p50 / p90 per call and the plan PostgreSQL
chose (an index scan on the lookup's index is the point).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable

from _common import migrated_postgres, p90
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.db import community_replica
from gridcommons.db import make_engine, make_sessionmaker
from gridcommons.settings import InfraSettings

FILL = [
    """INSERT INTO gateway.registry_communities (id, company_id, code, name, version)
       SELECT c * 10 + k, c, 'comm-' || k, 'Community', 1
       FROM generate_series(1, :n) AS c, generate_series(0, 4) AS k""",
    """INSERT INTO gateway.registry_clusters (id, company_id, community_id, community_code, code, name, version)
       SELECT c * 100 + k, c, c * 10 + k % 5, 'comm-' || k % 5, 'K' || k, 'Cluster', 1
       FROM generate_series(1, :n) AS c, generate_series(0, 9) AS k""",
    """INSERT INTO gateway.registry_units (id, company_id, community_id, community_code, cluster_id, cluster_code,
                                           code, name, version, resident_ids)
       SELECT c * 1000 + u, c, c * 10 + (u % 10) % 5, 'comm-' || (u % 10) % 5, c * 100 + u % 10, 'K' || u % 10,
              'E' || lpad(u::text, 3, '0'), 'Unit', 1,
              ARRAY[(c * 50 + u) % 200000 + 1, (c * 50 + u + 7) % 200000 + 1]::bigint[]
       FROM generate_series(1, :n) AS c, generate_series(0, 49) AS u""",
    # one large company (id 0): :large units in one cluster, residents numbered from 1_000_001
    """INSERT INTO gateway.registry_units (id, company_id, community_id, community_code, cluster_id, cluster_code,
                                           code, name, version, resident_ids)
       SELECT 10^12 + u, 0, 1, 'big', 1, 'K', 'E' || u, 'Unit', 1, ARRAY[1000000 + u]::bigint[]
       FROM generate_series(1, :large) AS u""",
]


async def timed(calls: int, one: Callable[[AsyncSession], Awaitable[object]], sessionmaker: object) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        async with sessionmaker() as session:  # type: ignore[operator]
            await one(session)
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


async def measure(db_url: str, companies: int, large: int, calls: int) -> None:
    lookup = community_replica.lookup
    engine = make_engine(InfraSettings(database_url=db_url), application_name="bench")  # the services' engine
    async with engine.begin() as conn:
        started = time.perf_counter()
        for statement in FILL:
            await conn.execute(text(statement), {"n": companies, "large": large})
        print(f"filled in {time.perf_counter() - started:.1f}s")
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        for table in ("registry_communities", "registry_clusters", "registry_units"):
            await conn.execute(text(f"ANALYZE gateway.{table}"))
        counts = [
            (await conn.execute(text(f"SELECT count(*) FROM gateway.{t}"))).scalar()
            for t in ("registry_communities", "registry_clusters", "registry_units")
        ]
        print(f"rows: communities {counts[0]}, clusters {counts[1]}, units {counts[2]}")
        plans = {
            "form door: companies_with_community": (
                "SELECT DISTINCT company_id FROM gateway.registry_communities "
                "WHERE company_id IN (17, 4242, 9000) AND code = 'comm-3' ORDER BY company_id"
            ),
            "guard: unit": (
                "SELECT * FROM gateway.registry_units WHERE company_id = 4242 AND community_code = 'comm-3' "
                "AND cluster_code = 'K3' AND code = 'E013'"
            ),
            "guard: resident_units, large company": (
                "SELECT * FROM gateway.registry_units WHERE company_id = 0 "
                "AND resident_ids @> ARRAY[1000777]::bigint[] ORDER BY community_code, cluster_code, code"
            ),
            "guard: resident_units": (
                "SELECT * FROM gateway.registry_units WHERE company_id = 4242 "
                "AND resident_ids @> ARRAY[212101]::bigint[] ORDER BY community_code, cluster_code, code"
            ),
        }
        for name, sql in plans.items():
            plan = (await conn.execute(text("EXPLAIN ANALYZE " + sql))).scalars().all()
            print(f"plan, {name}:")
            for line in plan:
                print(f"    {line}")
    sessionmaker = make_sessionmaker(engine)
    rnd = random.Random(7)

    def company() -> int:
        return rnd.randint(1, companies)

    async def form_door(s: AsyncSession) -> object:
        return await lookup.companies_with_community(s, f"comm-{rnd.randint(0, 4)}", [company(), company(), company()])

    async def unit(s: AsyncSession) -> object:
        u = rnd.randint(0, 49)
        return await lookup.unit(s, company(), f"comm-{(u % 10) % 5}", f"K{u % 10}", f"E{u:03d}")

    async def resident_units(s: AsyncSession) -> object:
        c, u = company(), rnd.randint(0, 49)
        return await lookup.resident_units(s, c, (c * 50 + u) % 200000 + 1)

    async def resident_units_large(s: AsyncSession) -> object:
        return await lookup.resident_units(s, 0, 1_000_000 + rnd.randint(1, large))

    for name, one in (
        ("form door", form_door),
        ("unit", unit),
        ("resident_units", resident_units),
        ("resident_units, large company", resident_units_large),
    ):
        await timed(min(200, calls), one, sessionmaker)  # warm-up: pool, statement cache
        ms = await timed(calls, one, sessionmaker)
        print(f"{name:>29}: p50 {statistics.median(ms):.2f} ms, p90 {p90(ms):.2f} ms ({calls} calls)")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=20_000, help="units of one large company")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with migrated_postgres("bench-community-", ["gateway"]) as (_, url):  # migrations run their own loop
        asyncio.run(measure(url, args.companies, args.large, args.calls))
