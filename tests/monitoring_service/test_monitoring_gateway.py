"""Monitoring end to end through the served gateway in front of the served monitoring-service: a device
ingests logs, staff read failures, switch jobs and search logs with bearer tokens; the merged OpenAPI
document describes every operation; an SDK generated from it drives them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gateway_edge.conftest import Edge, bearer
from gateway_edge.test_openapi_descriptions import undescribed
from gateway_edge.test_sdk import PACKAGE, generate_sdk
from monitoring_helpers import Registry, judge, log, register

from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.devstack import free_port
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app
from monitoring_service.app import create_app as create_monitoring_app
from monitoring_service.settings import MonitoringSettings

ROOT = ("monitoring-root", "monitoring-root-Passw0rd!")


@pytest.fixture(scope="module")
async def monitoring_edge(migrated: Stack) -> AsyncIterator[Edge]:
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_monitoring_app(MonitoringSettings(ops_allow_from=[], jobs_enabled=False))
    async with serve_app(app) as service_url:
        settings = GatewaySettings(
            upstreams={name: service_url if name == "monitoring-service" else dead for name in UPSTREAMS},
            bootstrap_superuser=f"{ROOT[0]}:{ROOT[1]}",
            registrations_per_address=100_000,
        )
        gateway = create_gateway_app(settings, configure_logs=False)
        async with serve_app(gateway) as url:
            import httpx

            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                edge = Edge(url=url, asset_url=dead, client=client, app=gateway)
                edge._superuser_token = await edge.login(*ROOT)
                edge.monitoring_app = app  # type: ignore[attr-defined]
                yield edge


async def monitoring_world(edge: Edge) -> tuple[int, Registry, dict[str, dict[str, str]]]:
    """A company with staff, a member, a machine client, and the registry in the replica."""
    company = await edge.company()
    headers = {
        role: {**bearer(await edge.user({company: role})), "CompanyID": str(company)}
        for role in ("operator", "admin", "member")
    }
    headers["device"] = bearer(await edge.machine_client(company))
    reg = await register(edge.monitoring_app, company)  # type: ignore[attr-defined]
    return company, reg, headers


async def test_monitoring_through_the_gateway(monitoring_edge: Edge) -> None:
    c = monitoring_edge.client
    _, reg, h = await monitoring_world(monitoring_edge)
    r = await c.post("/api/ingest/logs", json={"logs": [log("apis-log", "SEVERE", "gw")]}, headers=h["device"])
    assert (r.status_code, r.json()) == (200, {"received": 1})
    await judge(monitoring_edge.monitoring_app, reg, "apis_log_severe")  # type: ignore[attr-defined]
    opened = (await c.get("/api/staff/monitoring/failure/openList", params=reg.cc(), headers=h["operator"])).json()
    assert [(f["type"], f["program_id"]) for f in opened] == [("apis_log_severe", "apis-log")]
    r = await c.post(
        "/api/staff/monitoring/job/deactivate", params={**reg.cc(), "type": "apis_log_severe"}, headers=h["admin"]
    )
    assert (r.status_code, r.text) == (200, "ok")
    assert (await c.get("/api/staff/monitoring/failure/openList", params=reg.cc(), headers=h["operator"])).json() == []
    found = (await c.get("/api/monitoring/logs", params=reg.cc(), headers=h["operator"])).json()
    assert [i["message"] for i in found["items"]] == ["gw"]
    r = await c.get("/api/staff/monitoring/job/list", params=reg.cc(), headers=h["member"])
    assert (r.status_code, r.json()) == (403, {"detail": "staff required"})
    r = await c.get("/api/monitoring/logs", params=reg.cc(), headers=h["device"])
    assert r.status_code in (400, 403)  # a machine client is no staff (and has no tenant header)
    doc = (await c.get("/openapi.json")).json()
    for path in ("/api/staff/monitoring/failure/openList", "/api/monitoring/logs", "/api/ingest/logs"):
        assert path in doc["paths"], path
    assert undescribed(doc) == []


async def test_generated_sdk_drives_monitoring(monitoring_edge: Edge, tmp_path: Path) -> None:
    """An SDK generated from the merged document (no generator warning) ingests logs, reads failures and
    switches jobs with the typed answers the document promises."""
    c = monitoring_edge.client
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

        company, reg, h = await monitoring_world(monitoring_edge)

        def client(headers: dict[str, str]) -> Any:
            token = headers["Authorization"].split(" ", 1)[1]
            return client_mod.AuthenticatedClient(
                base_url=monitoring_edge.url,
                token=token,
                headers={"CompanyID": str(company)},
                raise_on_unexpected_status=True,
            )

        staff = client(h["operator"])
        body = m.IngestLogsRequest.from_dict({"logs": [log("apis-ccc", "SEVERE", "sdk")]})
        done = await op("ingestion", "ingest_logs")(client=staff, body=body)
        assert isinstance(done, m.IngestLogsResponse) and done.received == 1
        await judge(monitoring_edge.monitoring_app, reg, "apis_ccc_severe")  # type: ignore[attr-defined]
        cc = {"community_id": reg.community, "cluster_id": reg.cluster}
        opened = await op("monitoring_staff", "failure_open_list")(client=staff, **cc)
        assert [f.type_ for f in opened] == ["apis_ccc_severe"] and isinstance(opened[0], m.Failure)
        jobs = await op("monitoring_staff", "job_list")(client=staff, **cc)
        assert len(jobs) == 6 and all(isinstance(j, m.JobSetting) and j.is_active for j in jobs)
        assert await op("monitoring_staff", "job_deactivate")(client=staff, type_="apis_ccc_severe", **cc) == "ok"
        page = await op("logs", "search_logs")(client=staff, **cc)
        assert isinstance(page, m.LogPage) and [i.message for i in page.items] == ["sdk"]
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]
