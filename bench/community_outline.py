"""The community outlines over 50 communities x 20 clusters x 50 units (50,000 units).

Starts an embedded PostgreSQL on a free port, migrates the community-service, bulk-inserts the registry
directly (one INSERT ... SELECT per level) and links one resident to 3 units, then serves the app with
uvicorn on a loopback port (no gateway, no broker: nothing is written, nothing relayed) and measures:

* ``GET /api/staff/community/outline`` (every unit), and with ``asof`` (about half the units, by their
  availability windows), over HTTP (client round trip, body read) and service-side (the service
  function alone: session, the one SQL statement building the JSON, commit); target < 300 ms;
* ``GET /api/resident/community/outline`` for the resident of 3 units; target < 20 ms;
* the baseline: the staff outline of a company with one unit (same path, same code);
* what the response model would cost on top (``OutlineResponse`` validating and serialising the same
  50,000-unit body), which is why the route sends PostgreSQL's JSON text as it is.

Not part of ``make test``. Usage: ``.venv/bin/python bench/community_outline.py [--runs 9]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import orjson
from _common import in_process_env, migrated_postgres, p90
from sqlalchemy import text

from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner

COMPANY = 42
BASELINE_COMPANY = 43
RESIDENT = 4242
COMMUNITIES, CLUSTERS, UNITS = 50, 20, 50
ASOF = "2027-06-01T00:00:00Z"


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1000:7.1f} ms  p90 {p90(xs) * 1000:7.1f} ms  min {xs[0] * 1000:7.1f} ms  (n={len(xs)})"


def headers(private_key: str, company_id: int, role: str, subject: str = "bench") -> dict[str, str]:
    ident = Identity(subject=subject, kind="user", company_id=company_id, roles=frozenset({role}))
    return {INTERNAL_IDENTITY_HEADER: IdentitySigner(private_key, ttl_seconds=3600).sign(ident)}


SEED = [
    """INSERT INTO community.communities (company_id, code, name)
       SELECT :company, 'community-' || lpad(i::text, 3, '0'), 'Community ' || i FROM generate_series(1, :communities) AS i""",
    """INSERT INTO community.clusters (company_id, community_id, code, name)
       SELECT :company, c.id, 'cluster-' || lpad(j::text, 3, '0'), 'Cluster ' || j
       FROM community.communities AS c, generate_series(1, :clusters) AS j WHERE c.company_id = :company""",
    # Every other unit has a window: half of those end before ASOF, so about 3/4 of the units are available.
    """INSERT INTO community.units (company_id, community_id, cluster_id, code, name, available_from, available_to)
       SELECT :company, k.community_id, k.id, 'E' || lpad(n::text, 4, '0'), 'Unit ' || n,
              CASE WHEN n % 2 = 0 THEN timestamptz '2027-01-01 00:00:00+00' END,
              CASE WHEN n % 4 = 0 THEN timestamptz '2027-03-01 00:00:00.5+00' END
       FROM community.clusters AS k, generate_series(1, :units) AS n WHERE k.company_id = :company""",
    """INSERT INTO community.unit_residents (unit_id, user_id, company_id)
       SELECT id, :resident, :company FROM community.units WHERE company_id = :company ORDER BY id DESC LIMIT 3""",
]


async def seed() -> None:
    from gridcommons.db import make_engine
    from gridcommons.settings import InfraSettings

    engine = make_engine(InfraSettings(), application_name="bench-seed")
    try:
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            params = {"company": COMPANY, "communities": COMMUNITIES, "clusters": CLUSTERS, "units": UNITS}
            params["resident"] = RESIDENT
            for statement in SEED:
                await conn.execute(text(statement), params)
            one = {"company": BASELINE_COMPANY, "communities": 1, "clusters": 1, "units": 1, "resident": RESIDENT}
            for statement in SEED:
                await conn.execute(text(statement), one)
            await conn.execute(text("ANALYZE community.communities, community.clusters, community.units"))
            count = (await conn.execute(text("SELECT count(*) FROM community.units"))).scalar_one()
        print(f"seeded {count} units in {time.perf_counter() - t0:.1f} s")
    finally:
        await engine.dispose()


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    out: list[float] = []
    result = None
    for i in range(runs + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        result = await call()
        if i:
            out.append(time.perf_counter() - t0)
    return out, result


async def run(runs: int, private_key: str) -> None:
    from community_service.app import create_app
    from community_service.registry import service
    from community_service.registry.schemas import OutlineResponse
    from community_service.settings import CommunitySettings
    from gridcommons.db import make_engine, make_sessionmaker
    from gridcommons.settings import InfraSettings
    from gridcommons.testing.servers import serve_app
    from gridcommons.validation import to_utc

    await seed()
    staff = headers(private_key, COMPANY, "operator")
    baseline_staff = headers(private_key, BASELINE_COMPANY, "operator")
    resident = headers(private_key, COMPANY, "member", subject=str(RESIDENT))
    app = create_app(CommunitySettings())
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as c:

        def get(path: str, h: dict[str, str], **params: str) -> Callable[[], Awaitable[httpx.Response]]:
            async def call() -> httpx.Response:
                r = await c.get(path, headers=h, params=params or None)
                r.raise_for_status()
                return r

            return call

        staff_path, resident_path = "/api/staff/community/outline", "/api/resident/community/outline"
        base, _ = await timed(3 * runs, get(staff_path, baseline_staff))
        x = statistics.median(base)
        print(f"HTTP baseline: staff outline of 1 unit: {stats(base)}")
        for label, call in (
            ("HTTP staff outline, every unit", get(staff_path, staff)),
            (f"HTTP staff outline, asof={ASOF}", get(staff_path, staff, asof=ASOF)),
            ("HTTP resident outline, 3 units", get(resident_path, resident)),
        ):
            times, r = await timed(runs, call)
            body = r.json()
            units = sum(len(k["units"]) for co in body["communities"].values() for k in co["clusters"].values())
            print(
                f"{label} ({units} units, {len(r.content) / 1e6:.1f} MB): {stats(times)}  {statistics.median(times) / x:.1f}x baseline"
            )

    engine = make_engine(InfraSettings(), application_name="bench-outline")
    sessionmaker = make_sessionmaker(engine)
    try:

        def side(asof: str | None) -> Callable[[], Awaitable[str]]:
            async def call() -> str:
                async with sessionmaker() as session, session.begin():
                    when = to_utc(datetime.fromisoformat(asof)) if asof else None
                    return await service.staff_outline(session, COMPANY, when)

            return call

        times, body_text = await timed(runs, side(None))
        print(f"service-side staff outline, every unit: {stats(times)}")
        times, _ = await timed(runs, side(ASOF))
        print(f"service-side staff outline, asof: {stats(times)}")
        parsed = orjson.loads(body_text)

        async def model_path() -> Any:
            return OutlineResponse.model_validate(parsed).model_dump_json()

        times, _ = await timed(max(3, runs // 3), model_path)
        print(f"response model on the 50,000-unit body (validate + serialise, not done by the route): {stats(times)}")
    finally:
        await engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    with migrated_postgres("gc-bench-outline-", ["community-service"]) as (_, db_url):
        priv = in_process_env(db_url)
        print(f"community_outline: nproc={os.cpu_count()}; python {sys.version.split()[0]}; load {os.getloadavg()}")
        asyncio.run(run(args.runs, priv))
        print(f"load after: {os.getloadavg()}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
