"""End-to-end event latency on a ``make run`` stack.

    .venv/bin/python bench/event_latency.py [--events 40] [--settle 10]

Starts the stack as ``make run`` does (scratch data folder, free ports, demo tenant), then:

- **HTTP write → consumer**: ``PATCH /api/assets/{id}`` through the gateway (demo operator), the
  asset-service commits the change and its outbox row, the relay (woken by NOTIFY) publishes
  ``assets.asset.v1``, and an independent consumer (a group of its own, the stack's fetch wait)
  receives the event. Timed from before the HTTP request to the consumer's ``getone``.
- **ingest message → applied**: a status message with the demo device's bearer token produced to
  ``ingest.asset-statuses.v1``; the asset-service worker verifies, applies and commits it. Timed from
  before ``send`` until the row is visible in PostgreSQL (polled every 2 ms on one connection).

- **registry change → every replica**: ``PATCH`` of a demo unit's name through the gateway; community-service
  publishes ``community.unit.v1``, and the registry replicas of the gateway, metering, deal and monitoring
  services apply it. Timed from before the HTTP request until the new name is in all four replica tables
  (polled every 2 ms); the slowest replica counts.

One event at a time, 0.1–0.4 s apart at random (so the event meets the consumer at any point of
its fetch wait); p50, p90, max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from _stack import Stack, running_stack, steal_and_load
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def call(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> object:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def token(stack: Stack, form: dict[str, str]) -> str:
    body = urllib.parse.urlencode(form).encode()
    answer = call(
        "POST", f"{stack.gateway}/auth/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert isinstance(answer, dict)
    return str(answer["access_token"])


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"{name:<28} p50 {statistics.median(values):6.1f} ms   p90 {p90:6.1f} ms   max {values[-1]:6.1f} ms  (n={len(values)})"


async def http_to_consumer(stack: Stack, events: int, fetch_wait_ms: int) -> list[float]:
    headers = {
        "Authorization": f"Bearer {token(stack, {'grant_type': 'password', 'username': 'demo-operator', 'password': 'demo-operator-pass'})}",
        "CompanyID": stack.company_id,
        "Content-Type": "application/json",
    }
    assets = call("GET", f"{stack.gateway}/api/assets", headers=headers)
    assert isinstance(assets, dict)
    asset_id = assets["assets"][0]["id"]
    consumer = AIOKafkaConsumer(
        "assets.asset.v1",
        bootstrap_servers=stack.kafka,
        group_id=f"bench-latency-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_wait_ms,
    )
    await consumer.start()
    loop = asyncio.get_running_loop()
    out = []
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.1)
        await consumer.seek_to_end()
        for n in range(events):
            await asyncio.sleep(random.uniform(0.1, 0.4))
            body = json.dumps({"name": f"bench {n} {uuid.uuid4().hex[:6]}"}).encode()
            t0 = time.perf_counter()
            await loop.run_in_executor(
                None, lambda b=body: call("PATCH", f"{stack.gateway}/api/assets/{asset_id}", body=b, headers=headers)
            )
            while True:
                msg = await consumer.getone()
                if msg.value and json.loads(msg.value)["data"].get("name", "").startswith(f"bench {n} "):
                    break
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await consumer.stop()
    return out


async def ingest_to_applied(stack: Stack, events: int) -> list[float]:
    device = token(
        stack, {"grant_type": "client_credentials", "client_id": "demo-device", "client_secret": "demo-device-secret"}
    )
    operator = token(stack, {"grant_type": "password", "username": "demo-operator", "password": "demo-operator-pass"})
    assets = call(
        "GET",
        f"{stack.gateway}/api/assets",
        headers={"Authorization": f"Bearer {operator}", "CompanyID": stack.company_id},
    )
    assert isinstance(assets, dict)
    asset_id = assets["assets"][0]["id"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, linger_ms=0)
    await producer.start()
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    base = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 3000))
    out = []
    try:
        for n in range(events):
            await asyncio.sleep(random.uniform(0.1, 0.4))
            at = base + timedelta(minutes=15 * n)
            value = json.dumps(
                {
                    "statuses": [
                        {
                            "asset_id": asset_id,
                            "status": "LIMITED",
                            "effective_at": at.isoformat().replace("+00:00", "Z"),
                        }
                    ]
                }
            ).encode()
            t0 = time.perf_counter()
            await producer.send(
                "ingest.asset-statuses.v1", value=value, headers=[("authorization", f"Bearer {device}".encode())]
            )
            deadline = t0 + 30
            while not await conn.fetchval(
                "SELECT 1 FROM asset.asset_statuses WHERE asset_id = $1 AND effective_at = $2", asset_id, at
            ):
                if time.perf_counter() > deadline:
                    raise RuntimeError("ingest message not applied in 30 s")
                await asyncio.sleep(0.002)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await producer.stop()
        await conn.close()
    return out


REPLICA_SCHEMAS = ("gateway", "metering", "deal", "monitoring")


async def registry_to_replicas(stack: Stack, events: int) -> list[float]:
    operator = token(stack, {"grant_type": "password", "username": "demo-operator", "password": "demo-operator-pass"})
    headers = {"Authorization": f"Bearer {operator}", "CompanyID": stack.company_id, "Content-Type": "application/json"}
    unit = f"{stack.gateway}/api/community/communities/demo_community/clusters/north/units/E002"
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    query = " + ".join(
        f"(SELECT count(*) FROM {schema}.registry_units WHERE community_code = 'demo_community' "
        f"AND cluster_code = 'north' AND code = 'E002' AND name = $1)"
        for schema in REPLICA_SCHEMAS
    )
    loop = asyncio.get_running_loop()
    out = []
    try:
        for n in range(events):
            await asyncio.sleep(random.uniform(0.1, 0.4))
            name = f"House 2 ({n} {uuid.uuid4().hex[:6]})"
            t0 = time.perf_counter()
            body = json.dumps({"name": name}).encode()
            await loop.run_in_executor(None, lambda b=body: call("PATCH", unit, body=b, headers=headers))
            deadline = t0 + 30
            while await conn.fetchval(f"SELECT {query}", name) < len(REPLICA_SCHEMAS):
                if time.perf_counter() > deadline:
                    raise RuntimeError("registry change not in every replica in 30 s")
                await asyncio.sleep(0.002)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--settle", type=float, default=10)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from gridcommons.devstack import EmbeddedBroker

    with running_stack(keep=args.keep) as stack:
        wait = int(stack.env.get("KAFKA_FETCH_MAX_WAIT_MS") or EmbeddedBroker.client_env()["KAFKA_FETCH_MAX_WAIT_MS"])
        print(
            f"stack up ({steal_and_load()}), consumers' fetch_max_wait_ms={wait}; settling {args.settle:.0f}s",
            flush=True,
        )
        time.sleep(args.settle)
        http = asyncio.run(http_to_consumer(stack, args.events, wait))
        print(summary("HTTP write -> consumer", http), flush=True)
        ingest = asyncio.run(ingest_to_applied(stack, args.events))
        print(summary("ingest message -> applied", ingest), flush=True)
        registry = asyncio.run(registry_to_replicas(stack, args.events))
        print(summary("registry change -> replicas", registry), flush=True)
        print(f"({steal_and_load()})")


if __name__ == "__main__":
    main()
