"""Program log ingestion and the monitoring job passes: records/s through Kafka (``ingest.logs.v1``, batch
mode) and through ``POST /api/ingest/logs``; one full pass of each job type over 1,000 units with a day
of logs in the table.

    .venv/bin/python bench/monitoring_logs.py [--records 1000000] [--per-message 1000]
                                              [--http-records 1000000] [--units 1000] [--clusters 20]
                                              [--day-records 10000000]

Starts an embedded PostgreSQL and broker (Tansu, as ``make run``), migrates monitoring-service, writes
the clusters and units into its registry replica, then:

1. Kafka: produces the records up front (``--per-message`` records per message, a device's bearer token
   in the ``authorization`` header), then runs monitoring-service's consumer group (the job runners
   off); counted from the first message applied to the last (the group join is not counted);
2. HTTP: the app in process (ASGI, no TCP, no gateway), batches of 1,000 records posted one after the other;
3. passes: ``--day-records`` log records over 24 hours bulk-inserted (INSERT ... SELECT) across the units
   (apis-main ``uri : `` lines, some SEVERE, apis-ccc and GridMaster lines), ANALYZE, then one pass of each
   job type (``run_pass``) as of 30 s after the newest line, timed, and the six together; twice (the
   first pass opens the failures, the second is the steady state).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from gridcommons.bearer import ed25519_kid
from gridcommons.community import CLUSTER_CHANGED, COMMUNITY_CHANGED, UNIT_CHANGED, ClusterV1, CommunityV1, UnitV1
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
TOPIC = "ingest.logs.v1"
COMMUNITY = "bench_community"


def cluster_code(i: int) -> str:
    return f"cluster_{i:03d}"


def unit_code(i: int) -> str:
    return f"U{i:04d}"


def records(count: int, clusters: int, units: int, t0: datetime) -> list[dict[str, object]]:
    """``count`` apis-main lines over the units (round robin), one per millisecond from ``t0``."""
    out = []
    for n in range(count):
        u = n % units
        out.append(
            {
                "communityId": COMMUNITY,
                "clusterId": cluster_code(u % clusters),
                "programId": "apis-main",
                "unitId": unit_code(u),
                "datetime": (t0 + timedelta(milliseconds=n)).isoformat(),
                "loglevel": "INFO",
                "loggername": "jp.co.sony.csl.dcoes.apis.main.util.DeviceDriver",
                "message": f"uri : http://0.0.0.0:4390/get?n={n}",
                "thread": "vert.x-eventloop-thread-0",
                "address": "10.0.0.1",
                "unitname": unit_code(u),
            }
        )
    return out


def device_token(private_pem: str, infra: InfraSettings) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    now = int(time.time())
    body = {
        "sub": "mc_bench",
        "typ": "client",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 7200,
        "iss": infra.token_issuer,
        "aud": infra.token_audience,
        "company_id": COMPANY,
        "roles": ["device"],
    }
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": ed25519_kid(key.public_key())})


async def register(sessionmaker: object, clusters: int, units: int) -> None:
    from monitoring_service.db import community_replica

    def event(kind: str, data: object) -> CloudEvent:
        return CloudEvent(source="/bench", type=kind, companyid=str(COMPANY), data=data.model_dump(mode="json"))  # type: ignore[attr-defined]

    async with unit_of_work(sessionmaker) as session:  # type: ignore[arg-type]
        await community_replica.apply_event(
            session, event(COMMUNITY_CHANGED, CommunityV1(id=1, code=COMMUNITY, name="Bench", version=1))
        )
        for c in range(clusters):
            await community_replica.apply_event(
                session,
                event(
                    CLUSTER_CHANGED,
                    ClusterV1(
                        id=10 + c, code=cluster_code(c), name="B", version=1, community_id=1, community_code=COMMUNITY
                    ),
                ),
            )
        for u in range(units):
            c = u % clusters
            await community_replica.apply_event(
                session,
                event(
                    UNIT_CHANGED,
                    UnitV1(
                        id=100_000 + u,
                        code=unit_code(u),
                        name=unit_code(u),
                        version=1,
                        community_id=1,
                        community_code=COMMUNITY,
                        cluster_id=10 + c,
                        cluster_code=cluster_code(c),
                    ),
                ),
            )


async def kafka_run(
    infra: InfraSettings, engine: object, token: str, batch: list[dict[str, object]], per: int
) -> float:
    from monitoring_service import workers
    from monitoring_service.settings import MonitoringSettings

    await ensure_topics(infra, (TOPIC,))
    producer = make_producer(infra, client_id="bench-logs")
    await producer.start()
    messages = 0
    try:
        pending = []
        for i in range(0, len(batch), per):
            chunk = batch[i : i + per]
            headers = [("authorization", f"Bearer {token}".encode()), ("ce_id", uuid.uuid4().hex.encode())]
            key = str(chunk[0]["clusterId"]).encode()
            pending.append(await producer.send(TOPIC, value=orjson.dumps({"logs": chunk}), key=key, headers=headers))
            messages += 1
            if len(pending) >= 100:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    built = workers.build(MonitoringSettings(jobs_enabled=False), engine)  # type: ignore[arg-type]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in built]
    count = text("SELECT count(*) FROM monitoring.processed_events WHERE consumer = 'monitoring-service.logs'")
    start = None
    try:
        while True:
            async with engine.connect() as conn:  # type: ignore[attr-defined]
                done = (await conn.execute(count)).scalar_one()
            now = time.perf_counter()
            if done and start is None:
                start, first, cpu = now, done, time.process_time()
            if done >= messages:
                end, cpu = now, time.process_time() - cpu
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert start is not None
    applied = (messages - first) * per
    # The consumer runs in this process: its CPU per record (PostgreSQL's work is not in it).
    print(f"  consumer process CPU: {cpu / max(applied, 1) * 1e6:.1f} µs per record", flush=True)
    return applied / max(end - start, 1e-9)


async def http_run(batch: list[dict[str, object]], signer: IdentitySigner) -> float:
    from monitoring_service.app import create_app
    from monitoring_service.settings import MonitoringSettings

    app = create_app(MonitoringSettings(jobs_enabled=False))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m", timeout=120) as c:
            started = time.perf_counter()
            ident = Identity(subject="bench", kind="client", company_id=COMPANY, roles=frozenset({"device"}))
            for i in range(0, len(batch), 1000):
                # a fresh internal identity per request, as the gateway signs them (they live a minute)
                headers = {INTERNAL_IDENTITY_HEADER: signer.sign(ident)}
                r = await c.post("/api/ingest/logs", json={"logs": batch[i : i + 1000]}, headers=headers)
                assert r.status_code == 200, r.text[:300]
            return len(batch) / (time.perf_counter() - started)


# A day of lines ending at :end, one every 86400/:total seconds, line g (1 = the newest) of unit g % :units:
# mostly apis-main "uri : " lines; every 500th SEVERE; every 50th an apis-ccc "reporting unit data" line;
# every 100th a GridMaster line.
FILL = """
INSERT INTO monitoring.logs (company_id, community_code, cluster_code, program_id, unit_id, datetime, loglevel,
                             loggername, message)
SELECT :company, :community, 'cluster_' || lpad(((g % :units) % :clusters)::text, 3, '0'),
       CASE WHEN g % 50 = 0 THEN 'apis-ccc' ELSE 'apis-main' END,
       CASE WHEN g % 50 = 0 THEN NULL ELSE 'U' || lpad((g % :units)::text, 4, '0') END,
       CAST(:end AS timestamptz) - (g * (86400.0 / CAST(:total AS float8))) * interval '1 second',
       CASE WHEN g % 500 = 1 THEN 'SEVERE' ELSE 'INFO' END,
       'jp.co.sony.csl.dcoes.apis.main.Bench',
       CASE WHEN g % 50 = 0 THEN 'reporting unit data to : 10.0.0.1'
            WHEN g % 100 = 3 THEN 'gridMasterUnitId : U0001'
            WHEN g % 500 = 1 THEN 'something broke [ jp.Bench.x(Bench.java:1) ]'
            ELSE 'uri : http://0.0.0.0:4390/get' END
FROM generate_series(CAST(:first AS bigint) + 1, CAST(:first AS bigint) + :n) AS g
"""


async def passes_run(engine: object, args: argparse.Namespace) -> None:
    from monitoring_service.jobs.rules import JOB_TYPES
    from monitoring_service.jobs.service import run_pass
    from monitoring_service.logs.models import partitions
    from monitoring_service.settings import MonitoringSettings

    end = datetime.now(UTC)
    started = time.perf_counter()
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await partitions.ensure(conn, [end - timedelta(days=1, seconds=1), end])
    step = 1_000_000
    if not args.day_records:
        return
    for first in range(0, args.day_records, step):
        n = min(step, args.day_records - first)
        async with engine.begin() as conn:  # type: ignore[attr-defined]
            await conn.execute(
                text(FILL),
                {
                    "company": COMPANY,
                    "community": COMMUNITY,
                    "units": args.units,
                    "clusters": args.clusters,
                    "end": end,
                    "total": args.day_records,
                    "first": first,
                    "n": n,
                },
            )
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE monitoring.logs"))
    print(
        f"passes: {args.day_records} log records over the last 24 h ({args.units} units, {args.clusters} clusters), "
        f"loaded in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    settings = MonitoringSettings(jobs_enabled=False)
    sessionmaker = make_sessionmaker(engine)  # type: ignore[arg-type]
    for round_ in ("first (failures opened)", "second (steady state)"):
        total = 0.0
        print(f"  {round_}:", flush=True)
        for job_type in JOB_TYPES:
            t = time.perf_counter()
            # as of 30 s after the newest line: the window (60 s) holds the last half minute of the day
            result = await run_pass(engine, sessionmaker, settings, job_type, now=end + timedelta(seconds=30))  # type: ignore[arg-type]
            took = time.perf_counter() - t
            total += took
            print(
                f"    {job_type:18s} {took * 1000:7.0f} ms  clusters {result.clusters}, opened {result.opened}, "
                f"closed {result.closed}",
                flush=True,
            )
        print(f"    all six           {total * 1000:7.0f} ms", flush=True)


async def measure(args: argparse.Namespace, token_priv: str, ident_priv: str) -> None:
    infra = InfraSettings()
    engine = make_engine(infra, application_name="bench")
    await register(make_sessionmaker(engine), args.clusters, args.units)
    print(f"nproc {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t0 = datetime.now(UTC) - timedelta(hours=6)
    if args.records:
        batch = records(args.records, args.clusters, args.units, t0)
        rate = await kafka_run(infra, engine, device_token(token_priv, infra), batch, args.per_message)
        print(f"Kafka: {len(batch)} records, {args.per_message} per message: {rate:9.0f} records/s", flush=True)
        del batch
    if args.http_records:
        batch = records(args.http_records, args.clusters, args.units, t0 + timedelta(hours=1))
        rate = await http_run(batch, IdentitySigner(ident_priv))
        print(f"HTTP:  {len(batch)} records in batches of 1000: {rate:9.0f} records/s", flush=True)
        del batch
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE monitoring.logs"))
    await passes_run(engine, args)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-message", type=int, default=1000)
    parser.add_argument("--http-records", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--day-records", type=int, default=10_000_000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-logs-"))
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
        upgrade(registry["monitoring-service"].migrations, db_url)  # outside the event loop (alembic runs its own)
        asyncio.run(measure(args, token_priv, ident_priv))
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        remove_tree(tmp)


if __name__ == "__main__":
    main()
