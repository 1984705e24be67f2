"""The asset slice at the event level: POST /api/assets -> outbox -> relay -> assets.asset.v1."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.settings import InfraSettings
from gridcommons.testing.asyncapi import record_errors
from gridcommons.testing.kafka import topic_reader
from gridcommons.testing.plugin import Stack

from .conftest import Record, collect, header, wait_for

TOPIC = "assets.asset.v1"
BODY = {
    "code": "ev",
    "name": "Event Park",
    "type": "PV",
    "region": "DE",
    "delivery_area": "50HZ",
    "provider": "ENTELIOS",
}


def for_asset(asset_id: str, company_id: int):
    """Asset ids are per company, so match on the key and the tenant."""

    def want(msg: Record) -> bool:
        return msg.key == asset_id.encode() and orjson.loads(msg.value).get("companyid") == str(company_id)

    return want


async def outbox_row(engine: AsyncEngine, asset_id: str, company_id: int):
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT event_id, published_at FROM asset.outbox WHERE key = :k AND payload->>'companyid' = :c"),
                {"k": asset_id, "c": str(company_id)},
            )
        ).one()


async def test_asset_created_event(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, infra: InfraSettings, engine: AsyncEngine
) -> None:
    reader = topic_reader(TOPIC, group=True, infra=infra)
    await reader.start()
    try:
        t0 = time.monotonic()
        r = await asset_client.post("/api/assets", json=BODY, headers=internal_headers(company_id, "operator"))
        assert r.status_code == 201, r.text
        asset = r.json()
        [msg] = await collect(reader, for_asset(asset["id"], company_id), timeout=20)
        latency = time.monotonic() - t0
    finally:
        await reader.stop()
    print(f"\nasset event e2e (POST -> independent consumer): {latency * 1000:.0f} ms")

    assert msg.topic == TOPIC
    assert msg.key == asset["id"].encode()
    assert header(msg, "content-type") == b"application/cloudevents+json"
    envelope = orjson.loads(msg.value)
    assert envelope["specversion"] == "1.0"
    assert envelope["source"] == "/services/asset-service"
    assert envelope["type"] == "org.gridcommons.assets.asset.created"
    assert envelope["subject"] == asset["id"]
    assert envelope["companyid"] == str(company_id)
    assert envelope["data"] == asset
    assert datetime.fromisoformat(envelope["time"]).tzinfo is not None
    row = await outbox_row(engine, asset["id"], company_id)
    assert envelope["id"] == row.event_id
    assert header(msg, "ce_id") == row.event_id.encode()
    assert record_errors(envelope["type"], msg.value, msg.headers) == []  # the record is what the AsyncAPI says
    await wait_for(lambda: _published(engine, asset["id"], company_id), timeout=5)


async def _published(engine: AsyncEngine, asset_id: str, company_id: int) -> bool:
    return (await outbox_row(engine, asset_id, company_id)).published_at is not None


async def test_broker_outage_never_fails_a_write_nor_loses_the_event(
    asset_client: httpx.AsyncClient,
    internal_headers,
    company_id: int,
    infra: InfraSettings,
    engine: AsyncEngine,
    stack: Stack,
) -> None:
    # The relay has a working producer before the outage.
    warm = await asset_client.post("/api/assets", json=BODY, headers=internal_headers(company_id, "operator"))
    assert warm.status_code == 201
    await wait_for(lambda: _published(engine, warm.json()["id"], company_id), timeout=20)

    stack.stop_broker()
    try:
        t0 = time.monotonic()
        r = await asset_client.post(
            "/api/assets", json={**BODY, "code": "outage"}, headers=internal_headers(company_id, "operator")
        )
        post_s = time.monotonic() - t0
        assert r.status_code == 201, r.text
        assert post_s < 2.0, f"the write waited on the broker: {post_s:.2f}s"
        asset = r.json()
        row = await outbox_row(engine, asset["id"], company_id)
        assert row.published_at is None
        # The relay keeps failing while the broker is away; the row stays unpublished.
        await asyncio.sleep(3)
        assert (await outbox_row(engine, asset["id"], company_id)).published_at is None
    finally:
        stack.start_broker()
    restarted = time.monotonic()

    # The relay publishes the row once the broker is back...
    recovery = await wait_for(lambda: _published(engine, asset["id"], company_id), timeout=60, step=0.1)
    # ...and the event is really there (memory storage: the topic was recreated empty).
    reader = topic_reader(TOPIC, group=True, infra=infra)
    await reader.start()
    try:
        [msg] = await collect(reader, for_asset(asset["id"], company_id), timeout=60)
        delivered = time.monotonic() - restarted
    finally:
        await reader.stop()
    print(
        f"\nPOST during outage: {post_s * 1000:.0f} ms; published {recovery:.1f} s after broker restart; "
        f"read by a new consumer group at {delivered:.1f} s"
    )
    envelope = orjson.loads(msg.value)
    assert envelope["id"] == row.event_id and envelope["data"] == asset
    assert header(msg, "ce_id") == row.event_id.encode()
