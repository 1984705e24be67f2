from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

_n = itertools.count(1)


def z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def new_series(
    client: httpx.AsyncClient, headers: dict[str, str], *, kind: str = "cumulative", unit: str = "kWh", **extra: Any
) -> dict[str, Any]:
    body = {"external_key": f"meter-{next(_n)}/energy", "kind": kind, "unit": unit, **extra}
    r = await client.post("/api/metering/series", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def ingest(client: httpx.AsyncClient, headers: dict[str, str], readings: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/api/ingest/meter-readings", json={"readings": readings}, headers=headers)


async def all_readings(
    client: httpx.AsyncClient, headers: dict[str, str], series_id: int, **params: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        r = await client.get(
            f"/api/metering/series/{series_id}/readings",
            params={**params, "limit": 1000, "offset": offset},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        page = r.json()["readings"]
        out += page
        if len(page) < 1000:
            return out
        offset += 1000


async def outbox_events(conn: asyncpg.Connection, company_id: int, type_: str) -> list[dict[str, Any]]:
    """The company's outbox rows of one event type, in order, each as topic, key and the CloudEvent's fields."""
    rows = await conn.fetch(
        "SELECT topic, key, payload FROM metering.outbox WHERE payload->>'companyid' = $1 AND payload->>'type' = $2 "
        "ORDER BY seq",
        str(company_id),
        type_,
    )
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]
