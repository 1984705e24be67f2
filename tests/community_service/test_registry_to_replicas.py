"""The registry as other services see it: a change made through community-service's API travels through
its outbox, the broker and deal-service's replica consumer into the deal schema, where the guards'
lookup answers from it (how fast: bench/event_latency.py, "registry change -> replicas")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from registry_helpers import BASE

from deal_service.app import create_app as create_deal_app
from deal_service.db import community_replica
from deal_service.settings import DealSettings
from gridcommons.community import UnitRef
from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready


@pytest.fixture(scope="module")
async def deal_app(migrated: Stack) -> AsyncIterator[Any]:
    """deal-service with its workers in process: the relay and its one consumer group (replicas)."""
    app = create_deal_app(DealSettings(), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://deal") as client:
            ready = await wait_ready(client)  # the consumer group joined and has its partitions
            assert ready.status_code == 200, ready.text
        yield app


async def until(found: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll until ``found()`` answers something truthy (the timeout only bounds a broken pipeline)."""
    deadline = time.monotonic() + timeout
    while not (answer := await found()):
        assert time.monotonic() < deadline, "the change did not reach deal-service's replica"
        await asyncio.sleep(0.02)
    return answer


async def test_a_unit_made_here_is_known_to_deal_service_with_its_resident_and_retirement(
    deal_app: Any,
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    new_user_id: Callable[[], int],
    add_member: Callable[..., Awaitable[None]],
) -> None:
    h = dict(internal_headers(company_id, "operator"))
    resident = new_user_id()
    await add_member(company_id, resident)
    assert (await community_client.post(BASE, json={"code": "rp", "name": "Replicated"}, headers=h)).status_code == 201
    r = await community_client.post(f"{BASE}/rp/clusters", json={"code": "k", "name": "K"}, headers=h)
    assert r.status_code == 201, r.text
    body = {"code": "u1", "name": "Unit 1", "available_from": "2026-03-29T00:00:00Z"}
    r = await community_client.post(f"{BASE}/rp/clusters/k/units", json=body, headers=h)
    assert r.status_code == 201, r.text
    r = await community_client.put(f"{BASE}/rp/clusters/k/units/u1/residents/{resident}", headers=h)
    assert r.status_code == 200, r.text

    async def unit_with_resident() -> UnitRef | None:
        async with deal_app.state.sessionmaker() as session:
            found = await community_replica.lookup.unit(session, company_id, "rp", "k", "u1")
        return found if found is not None and resident in found.resident_ids else None

    unit = await until(unit_with_resident)
    assert (unit.community_code, unit.cluster_code, unit.unit_code) == ("rp", "k", "u1")
    assert unit.available_from.isoformat() == "2026-03-29T00:00:00+00:00" and not unit.retired
    async with deal_app.state.sessionmaker() as session:
        cluster = await community_replica.lookup.cluster(session, company_id, "rp", "k")
        assert cluster is not None and not cluster.retired
        assert await community_replica.lookup.unit(session, company_id + 1, "rp", "k", "u1") is None

    # Retiring the community retires the unit in the replica too (it stays known: history names it).
    assert (await community_client.post(f"{BASE}/rp/retire", headers=h)).status_code == 200

    async def retired() -> bool:
        async with deal_app.state.sessionmaker() as session:
            found = await community_replica.lookup.unit(session, company_id, "rp", "k", "u1")
        return found is not None and found.retired

    await until(retired)
