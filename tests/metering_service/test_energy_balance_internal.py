"""community-service's way to the energy balance: an internal call (gridcommons.internal_client) from a caller
service to metering-service served by a real uvicorn server on a free port, the caller's identity relayed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from metering_helpers import ingest, new_series

from gridcommons.app import create_service_app
from gridcommons.errors import DomainError
from gridcommons.identity import INTERNAL_IDENTITY_HEADER
from gridcommons.internal_client import InternalCalls, InternalClient
from gridcommons.settings import ServiceSettings
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app
from metering_service.app import create_app
from metering_service.settings import MeteringSettings

BALANCE = "/api/metering/energy-balance"
DAY = {"from": "2026-10-25T00:00:00+02:00", "to": "2026-10-26T00:00:00+01:00", "tz": "Europe/Paris"}


def caller_app() -> Any:
    """A service that answers with metering-service's balance, as community-service will."""
    router = APIRouter()

    @router.post("/api/caller/balance")
    async def community_balance(body: dict[str, Any], peers: InternalCalls) -> Any:
        return await peers.call("metering-service", "POST", BALANCE, json=body)

    return create_service_app(name="caller", title="caller", settings=ServiceSettings(), routers=[router])


@pytest.fixture
async def metering_url(migrated: Stack) -> AsyncIterator[str]:
    async with serve_app(create_app(MeteringSettings(modbus_poll=False, unit_data_retention_days=0))) as url:
        yield url


@pytest.fixture
async def caller(metering_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("INTERNAL_URL_METERING_SERVICE", metering_url)
    app = caller_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://caller", timeout=30) as client:
            yield client


async def test_the_balance_through_an_internal_call(
    metering_url: str, caller: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    async with httpx.AsyncClient(base_url=metering_url, timeout=30) as direct:
        production = await new_series(direct, op, kind="instantaneous", unit="kW")
        consumption = await new_series(direct, op, kind="cumulative", unit="kWh")
        readings = [
            {"series_id": production["id"], "time": f"2026-10-25T{h:02d}:00:00Z", "value": "2"} for h in range(0, 24)
        ] + [{"series_id": consumption["id"], "time": f"2026-10-25T{h:02d}:00:00Z", "value": str(h)} for h in range(24)]
        assert (await ingest(direct, op, readings)).status_code == 200
        body = {"production": [production["id"]], "consumption": [consumption["id"]], **DAY}
        expected = await direct.post(BALANCE, json=body, headers=op)
        assert expected.status_code == 200

    # the operator's identity relayed: the same answer as asked directly
    r = await caller.post("/api/caller/balance", json=body, headers=op)
    assert r.status_code == 200, r.text
    assert r.json() == expected.json() and r.json()["total"]["production"] != "0"

    # the peer checks the same rights: a member is refused, another company does not see the series
    member = internal_headers(company_id, "member", subject="501")
    r = await caller.post("/api/caller/balance", json=body, headers=member)
    assert (r.status_code, r.json()["detail"]) == (403, "Insufficient role for this operation")
    r = await caller.post("/api/caller/balance", json=body, headers=internal_headers(company_id + 500_000, "admin"))
    assert r.status_code == 404 and "not found" in r.json()["detail"].lower()
    # the peer's 422 keeps its items
    r = await caller.post("/api/caller/balance", json={**body, "colour": "red"}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "colour"], r.text

    # no identity, or a forged one: refused by the caller, nothing reaches the peer
    assert (await caller.post("/api/caller/balance", json=body)).status_code == 401
    forged = {INTERNAL_IDENTITY_HEADER: op[INTERNAL_IDENTITY_HEADER][:-4] + "AAAA"}
    assert (await caller.post("/api/caller/balance", json=body, headers=forged)).status_code == 401
    # and a forged token sent to the peer anyway is refused there: the relay grants nothing by itself
    client = InternalClient("metering-service", base_url=metering_url)
    try:
        with pytest.raises(DomainError) as refused:
            await client.call("POST", BALANCE, identity=forged[INTERNAL_IDENTITY_HEADER], json=body)
        assert refused.value.status_code == 401
        with pytest.raises(DomainError) as absent:
            await client.call("POST", BALANCE, identity="", json=body)
        assert absent.value.status_code == 401
    finally:
        await client.aclose()


async def test_a_peer_that_is_down_is_a_503(
    caller: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, internal_headers, company_id: int
) -> None:
    from gridcommons.devstack import free_port

    monkeypatch.setenv("INTERNAL_URL_METERING_SERVICE", f"http://127.0.0.1:{free_port()}")
    app = caller_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://caller") as client:
            body = {"production": [1], "consumption": [2], **DAY}
            r = await client.post("/api/caller/balance", json=body, headers=internal_headers(company_id, "operator"))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["detail"].startswith("metering-service is unavailable (connection refused")
