"""Helpers shared by the asset-service tests: ISO timestamps, quantities, assets, outbox rows, Kafka ingest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

from gridcommons.events import CONTENT_TYPE
from gridcommons.kafka import make_producer
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mw(x: Any) -> dict[str, Any]:
    return {"amount": x, "unit": "MW"}


def mwh(x: Any) -> dict[str, Any]:
    return {"amount": x, "unit": "MWh"}


async def create_asset(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, str]) -> str:
    """POST /api/assets (expects 201); the new asset's id."""
    r = await client.post("/api/assets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def outbox_events(stack: Stack, company_id: int, type_: str) -> list[dict[str, Any]]:
    """The company's outbox rows of one event type, in order, each as topic, key and the CloudEvent's fields."""
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT topic, key, payload FROM asset.outbox WHERE payload->>'companyid' = $1 AND payload->>'type' = $2 "
            "ORDER BY seq",
            str(company_id),
            type_,
        )
    finally:
        await conn.close()
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]


async def produce(
    topic: str,
    client_id: str,
    messages: list[tuple[bytes, bytes, str | None]] | list[tuple[bytes, bytes, str | None, list[tuple[str, bytes]]]],
    *,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send (key, value, ce_id[, headers]) messages to ``topic`` as structured CloudEvents, and wait
    for them. ``headers`` (e.g. ``ingest_headers(token)``: the credential) go on every message
    that brings no headers of its own."""
    producer = make_producer(InfraSettings(), client_id=client_id)
    await producer.start()
    try:
        futures = []
        for message in messages:
            key, value, ce_id = message[:3]
            extra = message[3] if len(message) > 3 else headers or []  # type: ignore[misc]
            sent = [("content-type", CONTENT_TYPE.encode())] + ([("ce_id", ce_id.encode())] if ce_id else [])
            futures.append(await producer.send(topic, value=value, key=key, headers=sent + list(extra)))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
