"""Deal ingestion and the hourly sums: reports/s through Kafka (``ingest.deals.v1``, batch mode) and
through ``POST /api/ingest/deals``; the staff hourly sums over a cluster with many deals.

    .venv/bin/python bench/deal_ingest.py [--reports 200000] [--deals 2000] [--per-message 100]
                                          [--http-reports 50000] [--sum-deals 1000000] [--calls 20]

(the issue's figure: ``--reports 1000000 --deals 10000``). Starts an embedded PostgreSQL and broker (Tansu,
as ``make run``), migrates deal-service, writes one cluster into its registry replica, then:

1. Kafka: produces the reports up front (each deal re-reported ``reports/deals`` times with a growing
   reportTime and cumulateAmountWh, deals interleaved; ``--per-message`` reports per message, a device's
   bearer token in the ``authorization`` header), then runs deal-service's worker consumer group; counted
   from the first message applied to the last (the group join is not counted);
2. HTTP: the app in process (ASGI, no TCP, no gateway), batches of 1,000 reports posted one after the other;
3. hourly sums: ``--sum-deals`` deals bulk-inserted into one cluster (INSERT ... SELECT), ANALYZE, then
   ``GET /api/staff/deal/sumOfCumulateAmountWhsByHour`` ``--calls`` times per time zone form (p50, p90).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from gridcommons.bearer import ed25519_kid
from gridcommons.community import CLUSTER_CHANGED, COMMUNITY_CHANGED, ClusterV1, CommunityV1
from gridcommons.db import make_engine, make_sessionmaker, unit_of_work
from gridcommons.devstack import EmbeddedBroker, EmbeddedPostgres, free_port, remove_tree
from gridcommons.events import CloudEvent
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner, generate_ed25519_pem
from gridcommons.kafka import ensure_topics, make_producer
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry
from gridcommons.settings import InfraSettings

ROOT = Path(__file__).resolve().parents[1]
COMPANY = 1
TOPIC = "ingest.deals.v1"


def deal_report(deal: int, n: int, t0: int) -> dict[str, object]:
    created = f"2026-03-{1 + deal % 28:02d}T{deal % 24:02d}:{deal % 60:02d}:00Z"
    return {
        "unitId": f"E{deal % 10:03d}",
        "requestUnitId": f"E{deal % 10:03d}",
        "acceptUnitId": f"E{(deal + 1) % 10:03d}",
        "type": "charge",
        "chargeUnitId": f"E{deal % 10:03d}",
        "dischargeUnitId": f"E{(deal + 1) % 10:03d}",
        "pointPerWh": 10.0,
        "dealGridCurrentA": 1.0,
        "requestAmountWh": 1000,
        "acceptAmountWh": 1000,
        "dealAmountWh": 500,
        "dealId": f"bench-{deal}",
        "createDateTime": created,
        "startDateTime": created,
        "cumulateDateTime": created,
        "cumulateAmountWh": round(n * 0.5, 3),
        "communityId": "bench_community",
        "clusterId": "bench_cluster",
        "reportTime": t0 + n * 30,
    }


def reports_in_order(reports: int, deals: int, t0: int) -> list[dict[str, object]]:
    per_deal = max(1, reports // deals)
    return [deal_report(d, n, t0) for n in range(per_deal) for d in range(deals)]


def device_token(private_pem: str, infra: InfraSettings) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    now = int(time.time())
    body = {
        "sub": "mc_bench",
        "typ": "client",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
        "iss": infra.token_issuer,
        "aud": infra.token_audience,
        "company_id": COMPANY,
        "roles": ["device"],
    }
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": ed25519_kid(key.public_key())})


async def register_cluster(sessionmaker: object) -> None:
    from deal_service.db import community_replica

    def event(kind: str, data: object) -> CloudEvent:
        return CloudEvent(source="/bench", type=kind, companyid=str(COMPANY), data=data.model_dump(mode="json"))  # type: ignore[attr-defined]

    async with unit_of_work(sessionmaker) as session:  # type: ignore[arg-type]
        await community_replica.apply_event(
            session, event(COMMUNITY_CHANGED, CommunityV1(id=1, code="bench_community", name="Bench", version=1))
        )
        await community_replica.apply_event(
            session,
            event(
                CLUSTER_CHANGED,
                ClusterV1(
                    id=2,
                    code="bench_cluster",
                    name="Bench",
                    version=1,
                    community_id=1,
                    community_code="bench_community",
                ),
            ),
        )


async def kafka_run(
    infra: InfraSettings, engine: object, token: str, reports: list[dict[str, object]], per: int, profile: bool
) -> float:
    import orjson

    from deal_service import workers
    from deal_service.settings import DealSettings

    await ensure_topics(infra, (TOPIC,))
    producer = make_producer(infra, client_id="bench-deals")
    await producer.start()
    messages = 0
    try:
        pending = []
        for i in range(0, len(reports), per):
            chunk = reports[i : i + per]
            key = str(chunk[0]["dealId"]).encode()
            headers = [("authorization", f"Bearer {token}".encode()), ("ce_id", uuid.uuid4().hex.encode())]
            pending.append(await producer.send(TOPIC, value=orjson.dumps({"deals": chunk}), key=key, headers=headers))
            messages += 1
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    built = workers.build(DealSettings(), engine)  # type: ignore[arg-type]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in built]
    count = text("SELECT count(*) FROM deal.processed_events WHERE consumer = 'deal-service.deals'")
    start = None
    try:
        while True:
            async with engine.connect() as conn:  # type: ignore[attr-defined]
                done = (await conn.execute(count)).scalar_one()
            now = time.perf_counter()
            if done and start is None:
                start, first, cpu_start = now, done, time.process_time()
            if done >= messages:
                end, cpu = now, time.process_time() - cpu_start
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    assert start is not None
    applied = (messages - first) * per
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        events = (await conn.execute(text("SELECT count(*) FROM deal.outbox WHERE topic = 'deals.deal.v1'"))).scalar()
    print(
        f"  worker process CPU {cpu / applied * 1e6:.1f} µs per report (consumer and relay, not PostgreSQL nor the "
        f"broker); {events} deals.deal.v1 events for {len(reports)} reports",
        flush=True,
    )
    return applied / max(end - start, 1e-9)


async def http_run(reports: list[dict[str, object]], headers: dict[str, str]) -> float:
    from deal_service.app import create_app
    from deal_service.settings import DealSettings

    app = create_app(DealSettings())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://deal", timeout=120) as c:
            started = time.perf_counter()
            for i in range(0, len(reports), 1000):
                r = await c.post("/api/ingest/deals", json={"deals": reports[i : i + 1000]}, headers=headers)
                assert r.status_code == 200, r.text[:300]
            return len(reports) / (time.perf_counter() - started)


FILL = """
INSERT INTO deal.deals (company_id, deal_id, community_code, cluster_code, charge_unit_id, discharge_unit_id,
                        create_date_time, report_time, progress, cumulate_amount_wh, report)
SELECT 2, 'sum-' || g, 'bench_community', 'bench_cluster', 'E' || lpad((g % 50)::text, 3, '0'),
       'E' || lpad(((g + 1) % 50)::text, 3, '0'),
       timestamptz '2025-01-01 00:00:00+00' + (g * interval '31 seconds'), 1700000000, 3, (g % 1000) / 10.0,
       jsonb_build_object('dealId', 'sum-' || g)
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
"""
FILL_CHUNK = 100_000  # rows per statement: each within the engine's 30 s statement timeout on a loaded machine


async def sums_run(engine: object, n: int, calls: int, sign: Callable[[], dict[str, str]]) -> None:
    from deal_service.app import create_app
    from deal_service.settings import DealSettings

    started = time.perf_counter()
    for first in range(1, n + 1, FILL_CHUNK):
        async with engine.begin() as conn:  # type: ignore[attr-defined]
            await conn.execute(text(FILL), {"first": first, "last": min(n, first + FILL_CHUNK - 1)})
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE deal.deals"))
    print(f"hourly sums: {n} deals in one cluster, loaded in {time.perf_counter() - started:.1f}s", flush=True)
    app = create_app(DealSettings())
    params = {"communityId": "bench_community", "clusterId": "bench_cluster"}
    headers = sign()  # signed now: the identity is short-lived and the load takes minutes
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://deal", timeout=120) as c:
            for label, extra in (
                ("IANA Europe/Berlin", {"timezone": "Europe/Berlin"}),
                ("offset +09:00", {"timezone": "+09:00"}),
                (
                    "IANA, one month",
                    {
                        "timezone": "Europe/Berlin",
                        "datetimeFrom": "2025-03-01T00:00:00Z",
                        "datetimeTo": "2025-04-01T00:00:00Z",
                    },
                ),
                (
                    "IANA, month, odd edges",
                    {
                        "timezone": "Asia/Kathmandu",
                        "datetimeFrom": "2025-03-01T00:07:13Z",
                        "datetimeTo": "2025-04-01T00:52:01Z",
                    },
                ),
            ):
                times = []
                for _ in range(calls):
                    t = time.perf_counter()
                    r = await c.get(
                        "/api/staff/deal/sumOfCumulateAmountWhsByHour", params={**params, **extra}, headers=headers
                    )
                    times.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200 and (len(r.json()) == 24 or "datetimeFrom" in extra), r.text[:300]
                times.sort()
                p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
                print(f"  {label:22s} p50 {statistics.median(times):7.1f} ms   p90 {p90:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--deals", type=int, default=2_000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--http-reports", type=int, default=50_000)
    parser.add_argument("--sum-deals", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile the Kafka consumer; print the top functions")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-deals-"))
    os.chmod(tmp, 0o755)
    pg = broker = None
    try:
        pg = EmbeddedPostgres(tmp / "pg", free_port(), database="gridcommons_bench")
        db_url = pg.start()
        broker = EmbeddedBroker(free_port())
        token_priv, token_pub = generate_ed25519_pem()
        ident_priv, ident_pub = generate_ed25519_pem()
        os.environ.update(
            {
                "DATABASE_URL": db_url,
                "KAFKA_BOOTSTRAP_SERVERS": broker.start(),
                "TOKEN_PUBLIC_KEY": token_pub,
                "INTERNAL_IDENTITY_PUBLIC_KEY": ident_pub,
                "LOG_LEVEL": "WARNING",
                "GRIDCOMMONS_ROOT": str(ROOT),
            }
        )
        os.environ.update(broker.client_env())
        registry = {e.name: e for e in load_registry(ROOT)}
        upgrade(registry["deal-service"].migrations, db_url)  # outside the event loop (alembic runs its own)
        asyncio.run(measure(args, token_priv, ident_priv))
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        remove_tree(tmp)


async def measure(args: argparse.Namespace, token_priv: str, ident_priv: str) -> None:
    if True:
        infra = InfraSettings()
        engine = make_engine(infra, application_name="bench")
        await register_cluster(make_sessionmaker(engine))
        print(f"nproc {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        t0 = int(time.time()) - 10 * 86400
        if args.reports:
            reports = reports_in_order(args.reports, args.deals, t0)
            rate = await kafka_run(
                infra, engine, device_token(token_priv, infra), reports, args.per_message, args.profile
            )
            print(
                f"Kafka: {len(reports)} reports of {args.deals} deals, {args.per_message} per message: "
                f"{rate:9.0f} reports/s",
                flush=True,
            )
        ident = Identity(subject="bench", kind="user", company_id=COMPANY, roles=frozenset({"operator"}))
        headers = {INTERNAL_IDENTITY_HEADER: IdentitySigner(ident_priv).sign(ident)}
        # the same deals again, newer: every report moves its deal forward
        if args.http_reports:
            http_reports = reports_in_order(args.http_reports, args.deals, t0 + 10_000_000)
            rate = await http_run(http_reports, headers)
            print(f"HTTP:  {len(http_reports)} reports in batches of 1000: {rate:9.0f} reports/s", flush=True)

        def sums_headers() -> dict[str, str]:
            ident = Identity(subject="bench", kind="user", company_id=2, roles=frozenset({"operator"}))
            return {INTERNAL_IDENTITY_HEADER: IdentitySigner(ident_priv).sign(ident)}

        async with unit_of_work(make_sessionmaker(engine)) as session:
            from deal_service.db import community_replica

            await community_replica.apply_event(
                session,
                CloudEvent(
                    source="/bench",
                    type=CLUSTER_CHANGED,
                    companyid="2",
                    data=ClusterV1(
                        id=3,
                        code="bench_cluster",
                        name="B",
                        version=1,
                        community_id=4,
                        community_code="bench_community",
                    ).model_dump(mode="json"),
                ),
            )
        if args.sum_deals:
            await sums_run(engine, args.sum_deals, args.calls, sums_headers)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        await engine.dispose()


if __name__ == "__main__":
    main()
