"""Helpers shared by the asset-service tests: ISO timestamps, quantities, assets, outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

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
