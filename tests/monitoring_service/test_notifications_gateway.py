"""Notification settings through the served gateway in front of the served monitoring-service: the route
table sends /api/monitoring there; operators read and replace settings with bearer tokens; the merged
OpenAPI document describes every notification operation; an SDK generated from it drives them."""

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
from notify_helpers import COMMUNITY, register

from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.devstack import free_port
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app
from monitoring_service.app import create_app as create_monitoring_app
from monitoring_service.settings import MonitoringSettings

ROOT = ("notify-root", "notify-root-Passw0rd!")


@pytest.fixture(scope="module")
async def notify_edge(migrated: Stack) -> AsyncIterator[Edge]:
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_monitoring_app(MonitoringSettings(ops_allow_from=[]))
    async with serve_app(app) as monitoring_url:
        settings = GatewaySettings(
            upstreams={name: monitoring_url if name == "monitoring-service" else dead for name in UPSTREAMS},
            bootstrap_superuser=f"{ROOT[0]}:{ROOT[1]}",
            registrations_per_address=100_000,
        )
        gateway = create_gateway_app(settings, configure_logs=False)
        async with serve_app(gateway) as url:
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                edge = Edge(url=url, asset_url=dead, client=client, app=gateway)
                edge._superuser_token = await edge.login(*ROOT)
                edge.monitoring_app = app  # type: ignore[attr-defined]
                yield edge


async def notify_world(edge: Edge) -> tuple[int, dict[str, dict[str, str]]]:
    """A company with an operator, an admin, a member, and its community in the registry replica."""
    company = await edge.company()
    headers = {
        role: {**bearer(await edge.user({company: role})), "CompanyID": str(company)}
        for role in ("operator", "admin", "member")
    }
    await register(edge.monitoring_app, company)  # type: ignore[attr-defined]
    return company, headers


async def test_notification_settings_through_the_gateway(notify_edge: Edge) -> None:
    c = notify_edge.client
    _, h = await notify_world(notify_edge)
    path = f"/api/monitoring/notification-settings/{COMMUNITY}"
    body = {"notifyTo": ["ops@example.com"], "webhook": {"url": "https://h.example.com/x", "secret": "s" * 20}}
    r = await c.put(path, json=body, headers=h["operator"])
    assert r.status_code == 200, r.text
    got = (await c.get(path, headers=h["admin"])).json()
    assert (got["notifyTo"], got["webhook"]) == (["ops@example.com"], {"url": "https://h.example.com/x"})
    assert (await c.get(path, headers=h["member"])).status_code == 403
    assert (await c.put(path, json={"notifyTo": ["bad"]}, headers=h["operator"])).status_code == 422
    # another company with a community of the same code: its own settings (the defaults), none of ours
    _, oh = await notify_world(notify_edge)
    assert (await c.get("/api/monitoring/notification-settings", headers=oh["operator"])).json() == []
    assert (await c.get(path, headers=oh["operator"])).json()["notifyTo"] is None
    doc = (await c.get("/openapi.json")).json()
    for p in ("/api/monitoring/notification-settings", path.replace(COMMUNITY, "{communityId}")):
        assert p in doc["paths"], p
    assert undescribed(doc) == []


async def test_generated_sdk_manages_notification_settings(notify_edge: Edge, tmp_path: Path) -> None:
    """An SDK generated from the merged document (no generator warning) replaces, reads and lists a
    community's settings with the typed answers the document promises."""
    c = notify_edge.client
    code, output = await generate_sdk((await c.get("/openapi.json")).json(), tmp_path)
    assert code == 0 and "Warning" not in output and "Unable to" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module(f"{PACKAGE}.client")
        m = importlib.import_module(f"{PACKAGE}.models")

        def op(prefix: str) -> Any:
            pkg = importlib.import_module(f"{PACKAGE}.api.notifications")
            names = [p.stem for p in Path(pkg.__file__ or "").parent.glob(f"{prefix}_api_*.py")]
            assert len(names) == 1, (prefix, names)
            return importlib.import_module(f"{pkg.__name__}.{names[0]}").asyncio

        company, h = await notify_world(notify_edge)
        token = h["operator"]["Authorization"].split(" ", 1)[1]
        client = client_mod.AuthenticatedClient(
            base_url=notify_edge.url, token=token, headers={"CompanyID": str(company)}, raise_on_unexpected_status=True
        )
        body = m.NotificationSettingsUpdate.from_dict(
            {
                "notifyTo": ["ops@example.com"],
                "timeZone": "Europe/Paris",
                "webhook": {"url": "https://h.example.com/", "secret": "s" * 16},
            }
        )
        done = await op("put_notification_settings")(community_id=COMMUNITY, client=client, body=body)
        assert isinstance(done, m.NotificationSettings) and done.recipients == ["ops@example.com"]
        assert done.webhook.url == "https://h.example.com/"
        got = await op("get_notification_settings")(community_id=COMMUNITY, client=client)
        assert got.effective_time_zone == "Europe/Paris"
        listed = await op("list_notification_settings")(client=client)
        assert [s.community_id for s in listed] == [COMMUNITY]
        deliveries = await op("list_notification_deliveries")(community_id=COMMUNITY, client=client)
        assert deliveries == []
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]
