"""Scenarios end to end through the served gateway in front of the served community-service: staff with
a bearer token, a resident choosing, the device door with form credentials (`account`, `password`),
the merged OpenAPI document."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_edge.conftest import Edge, bearer
from gateway_edge.test_openapi_descriptions import undescribed
from gateway_edge.test_sdk import PACKAGE, generate_sdk
from scenario_helpers import link_resident, make_registry

from community_service.app import create_app as create_community_app
from community_service.scenarios.examples import HIGH_PRIORITY, LOW_PRIORITY_AS_SERVED
from community_service.settings import CommunitySettings
from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.devstack import free_port
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app

ROOT = ("scenario-root", "scenario-root-Passw0rd!")


@pytest.fixture(scope="module")
async def scenario_edge(migrated: Stack) -> AsyncIterator[Edge]:
    dead = f"http://127.0.0.1:{free_port()}"
    async with serve_app(create_community_app(CommunitySettings(ops_allow_from=[]))) as community_url:
        settings = GatewaySettings(
            upstreams={name: community_url if name == "community-service" else dead for name in UPSTREAMS},
            bootstrap_superuser=f"{ROOT[0]}:{ROOT[1]}",
            registrations_per_address=100_000,
        )
        app = create_gateway_app(settings, configure_logs=False)
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
            edge = Edge(url=url, asset_url=dead, client=client, app=app)
            edge._superuser_token = await edge.login(*ROOT)
            yield edge


async def test_staff_resident_and_device_through_the_gateway(scenario_edge: Edge, stack: Stack) -> None:
    edge = scenario_edge
    c = edge.client
    company = await edge.company()
    staff = {**bearer(await edge.user({company: "operator"})), "CompanyID": str(company)}
    name, password, token = await edge.account({company: "member"})
    user_id = int((await c.get("/auth/info", headers=bearer(token))).json()["id"])
    units = await make_registry(stack, company, {"oss_community": {"oss_cluster": ["E001", "E002"]}})
    await link_resident(stack, company, units["E001"].unit_id, user_id)
    resident = {**bearer(token), "CompanyID": str(company)}
    params = units["E001"].params

    r = await c.post("/api/community/scenarios", json={"name": "HIGH_PRIORITY", "data": HIGH_PRIORITY}, headers=staff)
    assert r.status_code == 201, r.text
    low = await c.post(
        "/api/community/scenarios",
        json={"name": "LOW_PRIORITY", "data": LOW_PRIORITY_AS_SERVED, "communityId": "oss_community"},
        headers=staff,
    )
    assert low.status_code == 201, low.text
    assert (
        await c.post("/api/community/scenarios", json={"name": "x", "data": "{}"}, headers=resident)
    ).status_code == 403

    listed = await c.get("/api/resident/scenario/availableList", params=params, headers=resident)
    assert [i["name"] for i in listed.json()] == ["HIGH_PRIORITY", "LOW_PRIORITY"]
    form = {"account": name, "password": password, "isMD5Password": "true", **params}
    r = await c.post("/api/misc/scenario/currentData", data=form)
    assert r.status_code == 200 and r.content == b""
    chose = await c.post(
        "/api/resident/scenario/choose", params={**params, "scenarioId": low.json()["id"]}, headers=resident
    )
    assert chose.status_code == 200 and chose.text == "ok"
    r = await c.post("/api/misc/scenario/currentData", data=form)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content == LOW_PRIORITY_AS_SERVED.encode()
    r = await c.post("/api/misc/scenario/currentData", data={**form, "password": "wrong"})
    assert r.status_code == 403
    r = await c.post("/api/misc/scenario/currentData", data={**form, "unitId": "E002"})
    assert r.status_code == 403 and r.json() == {"detail": "not a resident"}
    up = await c.post("/api/misc/scenario/update", data={**form, "name": "OWN", "data": HIGH_PRIORITY})
    assert up.status_code == 200 and up.text == "created"

    # another company's staff sees none of it
    other = await edge.company()
    outsider = {**bearer(await edge.user({other: "admin"})), "CompanyID": str(other)}
    assert (await c.get(f"/api/community/scenarios/{low.json()['id']}", headers=outsider)).status_code == 404
    assert (await c.get("/api/community/scenarios", headers=outsider)).json()["scenarios"] == []

    doc = (await c.get("/openapi.json")).json()
    for path in ("/api/community/scenarios", "/api/resident/scenario/choose", "/api/misc/scenario/currentData"):
        assert path in doc["paths"], path
    assert undescribed(doc) == []


async def test_generated_sdk_chooses_a_scenario(scenario_edge: Edge, stack: Stack, tmp_path: Path) -> None:
    """An SDK generated from the merged document (no generator warning) drives the staff and resident
    operations with the typed answers the document promises."""
    edge = scenario_edge
    c = edge.client
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

        company = await edge.company()
        name, password, token = await edge.account({company: "member"})
        user_id = int((await c.get("/auth/info", headers=bearer(token))).json()["id"])
        units = await make_registry(stack, company, {"c1": {"k1": ["E001"]}})
        await link_resident(stack, company, units["E001"].unit_id, user_id)

        def client(tok: str) -> Any:
            return client_mod.AuthenticatedClient(
                base_url=edge.url, token=tok, headers={"CompanyID": str(company)}, raise_on_unexpected_status=True
            )

        staff = client(await edge.user({company: "operator"}))
        resident = client(token)
        created = await op("scenarios", "create_scenario")(
            client=staff,
            body=m.CreateScenarioRequest.from_dict(
                {"name": "HIGH_PRIORITY", "data": HIGH_PRIORITY, "communityId": "c1"}
            ),
        )
        assert isinstance(created, m.ScenarioResponse) and created.data == HIGH_PRIORITY
        listed = await op("scenarios", "list_scenarios")(client=staff)
        assert [s.name for s in listed.scenarios] == ["HIGH_PRIORITY"]
        codes = {"community_id": "c1", "cluster_id": "k1", "unit_id": "E001"}
        items = await op("resident_scenarios", "available_list")(client=resident, **codes)
        assert [i.id for i in items] == [created.id] and isinstance(items[0], m.ScenarioItem)
        assert await op("resident_scenarios", "current_scenario")(client=resident, **codes) is None
        chose = await op("resident_scenarios", "choose_scenario")(client=resident, scenario_id=str(created.id), **codes)
        assert chose == "ok"
        current = await op("resident_scenarios", "current_scenario")(client=resident, **codes)
        assert isinstance(current, m.ScenarioItem) and current.id == created.id
        history = await op("scenarios", "list_scenario_choices")(client=staff, **codes)
        assert [h.scenario_id for h in history.choices] == [created.id]
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]
