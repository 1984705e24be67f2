"""Unit data documents per second through ``POST /api/ingest/unit-data`` and through Kafka
``ingest.unit-data.v1``, and the time of ``GET /api/staff/unitData/latestSet`` for a 1,000-unit cluster.

    .venv/bin/python bench/unit_data_ingest.py [--units 1000] [--reports 20] [--kafka-reports 20]
        [--per-message 100] [--clients 2] [--reads 200] [--history-months 0] [--history-per-month 100]

Starts an embedded PostgreSQL and broker (Tansu, as ``make run``), migrates metering-service and writes
one cluster of ``--units`` units into its community registry replica (as its consumer would). Documents
are apis-ccc's unitData (about 1.3 KiB of JSON each); a report is one document per unit with the same
datasetId (one report every 30 s in production: 1,000 units = 33 documents/s).

* HTTP: the service as a uvicorn subprocess (one worker, uvloop, httptools, no access log), ``--reports``
  reports posted as one batch each (1,000 documents) by ``--clients`` concurrent clients, directly to the
  service with a signed internal identity (a 1,000-document batch is over the gateway's default 1 MiB).
  Bodies are built before the timer.
* Kafka: ``--kafka-reports`` other reports produced up front as messages of ``--per-message`` documents
  with a device token, then the service's unit data consumer (batch mode, ``METERING_INGEST_BATCH_MESSAGES``
  messages per transaction) runs in this process; timed from the group's first poll to the last row
  committed (the group join is included: a few hundred ms).
* latestSet: ``--reads`` sequential requests for the cluster (1,000 documents, ≈ 1.3 MB answer), after
  both loads (the history holds (reports + kafka-reports) × units rows); median and p90.

* ``--history-months N``: before the loads, ``--history-per-month`` earlier reports per unit in each of the N
  months before them (written with SQL, one partition per month): the history that the once-per-(unit,
  datasetId) probe searches, one partition's primary key index at a time.

Prints ``nproc`` and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
from _common import in_process_env, migrated_postgres, operator_headers, p90
from metering_ingest import service, wait_ready

from gridcommons.devstack import EmbeddedBroker, free_port
from gridcommons.identity import generate_ed25519_pem

COMPANY = 7
COMMUNITY, CLUSTER = "bench_community", "bench_cluster"
DOCUMENT = {
    "emu": {
        "charge_discharge_power": 299.2,
        "system_time": {"month": 12, "minute": 5, "day": 20, "hour": 23, "year": 2026},
        "pvc_charge_current": 0,
        "ups_input_voltage": 102.8,
        "rsoc": 46.56,
        "battery_current": -6.23,
        "battery_voltage": 52.1,
        "ups_operation_mode": {"parameter": 80, "mode": 2, "stop_mode": 2},
        "ups_output_power": 130.0,
        "battery_rsoc": 34,
        "dischargeable_time": {"minute": 0, "hour": 0},
    },
    "dcdc": {
        "status": {"status": "0x0000", "alarmState": "Light alarm", "operationMode": "Waiting"},
        "meter": {"wg": 0, "tmp": 26.59, "vb": 48, "wb": -4.5, "vg": 0, "ib": -0.09, "ig": 0},
        "vdis": {"dvg": 350.0, "drg": 0.0},
        "param": {"dig": 0.0},
    },
    "oesunit": {"communityId": COMMUNITY, "clusterId": CLUSTER, "id": "", "display": "", "sn": "1", "budo": "1",
                "ip": "169.254.209.84", "ipv6_ll": "NA", "ipv6_g": "NA", "mac": "8c:85:90:b2:14:ef"},
    "time": "",
    "battery": {"rsoc": 46.56, "battery_operation_status": None},
    "apis": {"version": "3.0.0", "remaining_capacity_wh": 2234, "deal_interlock_capacity": 2, "is_grid_master": False,
             "operation_mode": {"global": "autonomous", "local": None, "effective": "autonomous"}},
    "datasetId": 0,
}  # fmt: skip
T0_MS = 1_795_000_000_000


def unit_code(i: int) -> str:
    return f"U{i:04d}"


def report(r: int, units: int) -> list[dict[str, object]]:
    at = T0_MS + r * 30_000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000))
    out = []
    for i in range(units):
        doc = copy.deepcopy(DOCUMENT)
        doc["oesunit"].update(id=unit_code(i), display=unit_code(i))  # type: ignore[attr-defined]
        doc["time"], doc["datasetId"] = stamp, at
        out.append(doc)
    return out


async def register_units(units: int) -> None:
    from gridcommons.community import CLUSTER_CHANGED, UNIT_CHANGED, ClusterV1, UnitV1
    from gridcommons.db import make_engine, make_sessionmaker
    from gridcommons.events import CloudEvent
    from gridcommons.settings import InfraSettings
    from metering_service.db import community_replica

    engine = make_engine(InfraSettings(), application_name="bench")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            cluster = ClusterV1(id=1, code=CLUSTER, name=CLUSTER, version=1, community_id=1, community_code=COMMUNITY)
            records = [(CLUSTER_CHANGED, cluster)] + [
                (
                    UNIT_CHANGED,
                    UnitV1(id=10 + i, code=unit_code(i), name=unit_code(i), version=1, community_id=1,
                           community_code=COMMUNITY, cluster_id=1, cluster_code=CLUSTER),
                )
                for i in range(units)
            ]  # fmt: skip
            for kind, data in records:
                event = CloudEvent(
                    source="/bench", type=kind, companyid=str(COMPANY), data=data.model_dump(mode="json")
                )
                await community_replica.apply_event(session, event)
    finally:
        await engine.dispose()


async def fill_history(dsn: str, units: int, months: int, per_month: int) -> int:
    """``per_month`` earlier reports per unit and month over the ``months`` before T0 (small documents), written
    with SQL: the history the idempotency probe (one per partition) searches. Returns the rows written."""
    from datetime import UTC, datetime

    from metering_service.unit_data.partitions import UNIT_DATA

    first = UNIT_DATA.add(UNIT_DATA.period_of(datetime.fromtimestamp(T0_MS / 1000, UTC)), -months)
    conn = await asyncpg.connect(dsn)
    try:
        for k in range(months + 1):
            await conn.execute(UNIT_DATA.create_sql(UNIT_DATA.add(first, k)))
        step_ms = months * 30 * 86_400_000 // (months * per_month)
        return int(
            await conn.fetchval(
                f"""WITH i AS (
                      INSERT INTO metering.unit_data (company_id, unit_id, community_code, cluster_code, unit_code,
                                                      dataset_id, time, document)
                      SELECT {COMPANY}, 10 + u, '{COMMUNITY}', '{CLUSTER}', 'U' || lpad(u::text, 4, '0'), ms,
                             to_timestamp(ms / 1000.0), '{{"history": true}}'::jsonb
                      FROM generate_series(0, {units - 1}) u, generate_series(1, {months * per_month}) k,
                           LATERAL (SELECT {T0_MS} - k::bigint * {step_ms} AS ms) x
                      RETURNING 1)
                    SELECT count(*) FROM i"""
            )
        )
    finally:
        await conn.close()


async def count_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM metering.unit_data"))
    finally:
        await conn.close()


async def http_load(url: str, private_key: str, bodies: list[bytes], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {**operator_headers(private_key, COMPANY), "content-type": "application/json"}
                r = await client.post("/api/ingest/unit-data", content=body, headers=headers)
                assert r.status_code == 200 and r.json()["unchanged"] == 0, r.text[:500]

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return time.perf_counter() - start


def device_token(token_private: str) -> str:
    import jwt
    from cryptography.hazmat.primitives import serialization

    from gridcommons.bearer import ed25519_kid
    from gridcommons.settings import InfraSettings

    infra = InfraSettings()
    key = serialization.load_pem_private_key(token_private.encode(), password=None)
    now = int(time.time())
    claims = {"sub": "mc_bench", "typ": "client", "jti": uuid.uuid4().hex, "iat": now, "exp": now + 3600,
              "iss": infra.token_issuer, "aud": infra.token_audience, "company_id": COMPANY, "roles": ["device"]}  # fmt: skip
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": ed25519_kid(key.public_key())})  # type: ignore[arg-type]


async def kafka_load(args: argparse.Namespace, dsn: str, token: str, already: int) -> tuple[float, int]:
    from gridcommons.consumer import ConsumerGroup
    from gridcommons.db import make_engine, make_sessionmaker
    from gridcommons.ingest import ingest_consumer
    from gridcommons.kafka import ensure_topics, make_producer
    from metering_service.db import outbox, replicas
    from metering_service.roles import INGESTORS
    from metering_service.settings import MeteringSettings
    from metering_service.unit_data import workers as unit_data

    settings = MeteringSettings()
    infra = settings.infra
    await ensure_topics(infra, (unit_data.TOPIC,))
    producer = make_producer(infra, client_id="bench-unit-data")
    await producer.start()
    total = 0
    try:
        pending = []
        for r in range(args.kafka_reports):
            docs = report(args.reports + r, args.units)
            for start in range(0, len(docs), args.per_message):
                chunk = docs[start : start + args.per_message]
                total += len(chunk)
                value = orjson.dumps({"unit_data": chunk})
                headers = [("authorization", f"Bearer {token}".encode()), ("ce_id", uuid.uuid4().hex.encode())]
                pending.append(await producer.send(unit_data.TOPIC, value=value, key=CLUSTER.encode(), headers=headers))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    engine = make_engine(infra, application_name="bench-consumer")
    apply, apply_batch = unit_data.appliers(settings.unit_data_retention_days)
    runner = ingest_consumer(
        name=unit_data.GROUP,
        topic=unit_data.TOPIC,
        roles=INGESTORS,
        apply=apply,
        apply_batch=apply_batch,
        batch_size=settings.ingest_batch_messages,
        sessionmaker=make_sessionmaker(engine),
        outbox=outbox,
        replicas=replicas,
        infra=infra,
    )
    group = ConsumerGroup(unit_data.GROUP, [runner], infra)
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(group.run(stop))
    try:
        while await count_rows(dsn) < already + total:
            if task.done():
                task.result()
                raise RuntimeError("the consumer stopped")
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await engine.dispose()
    return elapsed, total


async def reads(url: str, private_key: str, n: int, units: int) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for _ in range(n):
            start = time.perf_counter()
            r = await client.get(
                "/api/staff/unitData/latestSet",
                params={"communityId": COMMUNITY, "clusterId": CLUSTER},
                headers=operator_headers(private_key, COMPANY),
            )
            times.append(time.perf_counter() - start)
            assert r.status_code == 200 and len(r.json()) == units, r.text[:300]
    return sorted(times)


async def bench(args: argparse.Namespace, tmp: Path, db_url: str) -> None:
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}", flush=True)
    private_key = in_process_env(db_url)
    token_private, token_public = generate_ed25519_pem()
    broker = EmbeddedBroker(free_port(), log_path=tmp / "broker.log")
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.start()
    os.environ.update(broker.client_env())
    os.environ["TOKEN_PUBLIC_KEY"] = token_public
    dsn = db_url.replace("+asyncpg", "")
    port = free_port()
    proc = service(port, "http append", tmp / "service.log", 1)
    try:
        await register_units(args.units)
        history = 0
        if args.history_months:
            history = await fill_history(dsn, args.units, args.history_months, args.history_per_month)
            print(f"history: {history:,} rows over {args.history_months} months before the load", flush=True)
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url)
        bodies = [orjson.dumps({"unit_data": report(r, args.units)}) for r in range(args.reports)]
        size = sum(map(len, bodies)) / len(bodies) / args.units
        print(f"{args.reports} reports of {args.units} units over HTTP ({size:.0f} bytes per document)", flush=True)
        elapsed = await http_load(url, private_key, bodies, args.clients)
        http_docs = args.reports * args.units
        print(f"HTTP: {http_docs / elapsed:,.0f} documents/s ({http_docs:,} in {elapsed:.1f} s)", flush=True)
        elapsed, kafka_docs = await kafka_load(args, dsn, device_token(token_private), history + http_docs)
        print(
            f"Kafka: {kafka_docs / elapsed:,.0f} documents/s ({kafka_docs:,} in {elapsed:.1f} s, "
            f"{args.per_message} per message, group join included)",
            flush=True,
        )
        times = await reads(url, private_key, args.reads, args.units)
        print(
            f"latestSet ({args.units} units, {await count_rows(dsn):,} rows of history): "
            f"median {statistics.median(times) * 1000:.1f} ms, p90 {p90(times) * 1000:.1f} ms ({args.reads} requests)"
        )
    finally:
        proc.terminate()
        proc.wait(30)
        broker.stop()
    print(f"load average after {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--kafka-reports", type=int, default=20)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--history-months", type=int, default=0, help="months of history written before the load")
    parser.add_argument("--history-per-month", type=int, default=100, help="reports per unit and month of history")
    args = parser.parse_args()
    with migrated_postgres("gc-bench-unitdata-", ["metering-service"]) as (tmp, db_url):
        asyncio.run(bench(args, tmp, db_url))


if __name__ == "__main__":
    sys.exit(main())
