"""Deals end to end through the served gateway in front of the served deal-service: a device ingests,
staff and a resident read with bearer tokens; the merged OpenAPI document describes every deal
operation; an SDK generated from it drives them."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from deal_helpers import Registry, register, report
from gateway_edge.conftest import Edge, bearer
from gateway_edge.test_openapi_descriptions import undescribed
from gateway_edge.test_sdk import PACKAGE, generate_sdk

from deal_service.app import create_app as create_deal_app
from deal_service.settings import DealSettings
from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.devstack import free_port
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app

ROOT = ("deal-root", "deal-root-Passw0rd!")


@pytest.fixture(scope="module")
async def deal_edge(migrated: Stack) -> AsyncIterator[Edge]:
    dead = f"http://127.0.0.1:{free_port()}"
    deal_app = create_deal_app(DealSettings(ops_allow_from=[]))
    async with serve_app(deal_app) as deal_url:
        settings = GatewaySettings(
            upstreams={name: deal_url if name == "deal-service" else dead for name in UPSTREAMS},
            bootstrap_superuser=f"{ROOT[0]}:{ROOT[1]}",
            registrations_per_address=100_000,
        )
        app = create_gateway_app(settings, configure_logs=False)
        async with serve_app(app) as url:
            import httpx

            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                edge = Edge(url=url, asset_url=dead, client=client, app=app)
                edge._superuser_token = await edge.login(*ROOT)
                edge.deal_app = deal_app  # type: ignore[attr-defined]
                yield edge


async def deal_world(edge: Edge) -> tuple[int, Registry, dict[str, dict[str, str]]]:
    """A company with staff, a resident of E001, a machine client, and the registry in the replica."""
    company = await edge.company()
    headers = {
        role: {**bearer(await edge.user({company: role})), "CompanyID": str(company)} for role in ("operator", "admin")
    }
    _, _, token = await edge.account({company: "member"})
    user_id = int((await edge.client.get("/auth/info", headers=bearer(token))).json()["id"])
    headers["member"] = {**bearer(token), "CompanyID": str(company)}
    headers["device"] = bearer(await edge.machine_client(company))
    reg = await register(edge.deal_app, company, residents={"E001": user_id})  # type: ignore[attr-defined]
    return company, reg, headers


async def test_deals_through_the_gateway(deal_edge: Edge) -> None:
    c = deal_edge.client
    _, reg, h = await deal_world(deal_edge)
    t = int(time.time())
    deal = report("gw-1", cumulateAmountWh=12.5, reportTime=t)
    r = await c.post("/api/ingest/deals", json={"deals": [deal]}, headers=h["device"])
    assert r.status_code == 200, r.text
    assert (await c.get("/api/staff/deal/liveList", params=reg.cc(), headers=h["operator"])).json() == [deal]
    mine = (await c.get("/api/resident/deal/list", params=reg.ccu("E001"), headers=h["member"])).json()
    assert [(d["dealId"], d["chargeUnitId"], d["dischargeUnitId"]) for d in mine] == [("gw-1", "******", "E001")]
    r = await c.get("/api/staff/deal/list", params=reg.cc(), headers=h["member"])
    assert (r.status_code, r.json()) == (403, {"detail": "staff required"})
    r = await c.get("/api/staff/deal/list", params=reg.cc(), headers=h["device"])
    assert r.status_code in (400, 403)  # a machine client is no staff (and has no tenant header)
    sums = await c.get(
        "/api/staff/deal/sumOfCumulateAmountWhsByHour", params={**reg.cc(), "timezone": "+09:00"}, headers=h["admin"]
    )
    assert sums.json() == {"15": 12.5}
    doc = (await c.get("/openapi.json")).json()
    for path in ("/api/staff/deal/liveList", "/api/resident/deal/list", "/api/ingest/deals"):
        assert path in doc["paths"], path
    assert undescribed(doc) == []


async def test_generated_sdk_reads_deals(deal_edge: Edge, tmp_path: Path) -> None:
    """An SDK generated from the merged document (no generator warning) ingests and reads deals with the
    typed answers the document promises."""
    c = deal_edge.client
    code, output = await generate_sdk((await c.get("/openapi.json")).json(), tmp_path)
    assert code == 0 and "Warning" not in output and "Unable to" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module(f"{PACKAGE}.client")
        m = importlib.import_module(f"{PACKAGE}.models")

        def op(group: str, prefix: str) -> Any:
            pkg = importlib.import_module(f"{PACKAGE}.api.{group}")
            names = [p.stem for p in Path(pkg.__file__ or "").parent.glob(f"{prefix}_api_*.py")]
            assert len(names) == 1, (group, prefix, names)
            return importlib.import_module(f"{pkg.__name__}.{names[0]}").asyncio

        company, reg, h = await deal_world(deal_edge)

        def client(headers: dict[str, str]) -> Any:
            token = headers["Authorization"].split(" ", 1)[1]
            return client_mod.AuthenticatedClient(
                base_url=deal_edge.url,
                token=token,
                headers={"CompanyID": str(company)},
                raise_on_unexpected_status=True,
            )

        staff, resident = client(h["operator"]), client(h["member"])
        t = int(time.time())
        body = m.IngestDealsRequest.from_dict({"deals": [report("sdk-1", cumulateAmountWh=3.0, reportTime=t)]})
        done = await op("ingestion", "ingest_deals")(client=staff, body=body)
        assert isinstance(done, m.IngestDealsResponse) and done.changed == 1
        cc = {"community_id": reg.community, "cluster_id": reg.cluster}
        live = await op("deals_staff", "staff_live_list")(client=staff, **cc)
        assert [d.deal_id for d in live] == ["sdk-1"] and isinstance(live[0], m.Deal)
        assert live[0].cumulate_amount_wh == 3.0
        rng = await op("deals_staff", "staff_datetime_range")(client=staff, **cc)
        assert isinstance(rng, m.DatetimeRange) and rng.min_ == rng.max_
        mine = await op("deals_resident", "resident_list")(client=resident, unit_id="E001", **cc)
        assert isinstance(mine[0], m.ResidentDeal) and mine[0].charge_unit_id == "******"
        sums = await op("deals_staff", "staff_sum_of_cumulate_amount_whs_by_hour")(client=staff, timezone="Z", **cc)
        assert sums.to_dict() == {"6": 3.0}
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]
