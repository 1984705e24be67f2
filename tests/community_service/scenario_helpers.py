"""Helpers of the scenario tests: the community-service app and client, registry rows written straight
into the registry tables (communities, clusters, units, residents), outbox rows."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from community_service.app import create_app
from community_service.settings import CommunitySettings
from gridcommons.testing.plugin import Stack

_user_ids = itertools.count(7_000_000)


def new_user_id() -> int:
    """A gateway user id no other test uses."""
    return next(_user_ids)


@pytest.fixture(scope="session")
async def scenario_app(migrated: Stack) -> AsyncIterator[object]:
    app = create_app(CommunitySettings())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def scenario_client(scenario_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=scenario_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://community-service") as client:
        yield client


@dataclass(frozen=True)
class UnitRow:
    community_id: int
    cluster_id: int
    unit_id: int
    community: str
    cluster: str
    unit: str

    @property
    def params(self) -> dict[str, str]:
        """The unit's codes as the seed's query parameters."""
        return {"communityId": self.community, "clusterId": self.cluster, "unitId": self.unit}


async def connect(stack: Stack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))


async def make_registry(
    stack: Stack,
    company_id: int,
    layout: dict[str, dict[str, list[str]]],
    residents: dict[str, list[int]] | None = None,
) -> dict[str, UnitRow]:
    """Communities → clusters → unit codes of one company; ``residents``: unit code → user ids.
    Returns the units by code (codes unique within the layout)."""
    out: dict[str, UnitRow] = {}
    conn = await connect(stack)
    try:
        for community, clusters in layout.items():
            community_id = await conn.fetchval(
                "INSERT INTO community.communities (company_id, code, name) VALUES ($1, $2, $2) RETURNING id",
                company_id,
                community,
            )
            for cluster, unit_codes in clusters.items():
                cluster_id = await conn.fetchval(
                    "INSERT INTO community.clusters (company_id, community_id, code, name) VALUES ($1, $2, $3, $3) "
                    "RETURNING id",
                    company_id,
                    community_id,
                    cluster,
                )
                for code in unit_codes:
                    unit_id = await conn.fetchval(
                        "INSERT INTO community.units (company_id, community_id, cluster_id, code, name) "
                        "VALUES ($1, $2, $3, $4, $4) RETURNING id",
                        company_id,
                        community_id,
                        cluster_id,
                        code,
                    )
                    out[code] = UnitRow(community_id, cluster_id, unit_id, community, cluster, code)
                    for user_id in (residents or {}).get(code, []):
                        await conn.execute(
                            "INSERT INTO community.unit_residents (unit_id, user_id, company_id) VALUES ($1, $2, $3)",
                            unit_id,
                            user_id,
                            company_id,
                        )
    finally:
        await conn.close()
    return out


async def link_resident(stack: Stack, company_id: int, unit_id: int, user_id: int) -> None:
    conn = await connect(stack)
    try:
        await conn.execute(
            "INSERT INTO community.unit_residents (unit_id, user_id, company_id) VALUES ($1, $2, $3)",
            unit_id,
            user_id,
            company_id,
        )
    finally:
        await conn.close()


async def retire_record(stack: Stack, table: str, record_id: int) -> None:
    conn = await connect(stack)
    try:
        await conn.execute(f"UPDATE community.{table} SET retired_at = now() WHERE id = $1", record_id)
    finally:
        await conn.close()


async def outbox_events(stack: Stack, company_id: int, type_: str) -> list[dict[str, Any]]:
    """The company's community outbox rows of one event type, in order (topic, key and the CloudEvent)."""
    conn = await connect(stack)
    try:
        rows = await conn.fetch(
            "SELECT topic, key, payload FROM community.outbox WHERE payload->>'companyid' = $1 "
            "AND payload->>'type' = $2 ORDER BY seq",
            str(company_id),
            type_,
        )
    finally:
        await conn.close()
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]
