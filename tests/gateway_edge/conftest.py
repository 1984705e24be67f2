"""The gateway edge over real HTTP: the asset-service, the metering-service, the community-service's
registry and small upstream apps served by uvicorn,
the gateway served by uvicorn in front of them, users/companies/machine clients made through
the gateway's real auth endpoints."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from asset_service.app import create_app as create_asset_app
from asset_service.settings import AssetSettings
from community_service.app import create_app as create_community_app
from community_service.settings import CommunitySettings
from gateway.app import create_app as create_gateway_app
from gateway.edge.routes import UPSTREAMS
from gateway.settings import GatewaySettings
from gridcommons.db import make_engine
from gridcommons.devstack import free_port
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack
from gridcommons.testing.servers import serve_app
from metering_service.app import create_app as create_metering_app
from metering_service.settings import MeteringSettings

SUPERUSER = ("edge-root", "edge-root-Passw0rd!")
SLOW_SECONDS = 2.0
ROUTE_TIMEOUT = 0.5
MAX_BODY = 100_000


def echo_app() -> FastAPI:
    """Echoes what it received, and answers with hop-by-hop headers the gateway must drop."""
    app = FastAPI()

    async def echo(request: Request, path: str) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {
                "path": request.url.path,
                "query": request.url.query,
                "headers": [[k, v] for k, v in request.headers.items()],
                "body_length": len(body),
                "body": body[:4096].decode("utf-8", "replace"),
            },
            headers={
                "Connection": "X-Upstream-Hop",
                "X-Upstream-Hop": "secret",
                "Keep-Alive": "timeout=5",
                "X-Upstream-Plain": "kept",
            },
        )

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        app.add_api_route("/{path:path}", echo, methods=[method], operation_id=f"echo_{method.lower()}")
    return app


# What of community-service is built (the registry and its outlines, its document): served by the real
# app; its other prefixes (scenarios, seed 000, the device door) still reach the echo.
COMMUNITY_BUILT = ("/api/community/", "/api/staff/community/", "/api/resident/community/", "/openapi.json")


def community_upstream(real: Any, echo: Any) -> Any:
    """community-service's upstream: the real app for its built paths (and the lifespan), the echo for the rest."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" or scope.get("path", "").startswith(COMMUNITY_BUILT):
            await real(scope, receive, send)
        else:
            await echo(scope, receive, send)

    return app


def slow_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def slow(path: str) -> dict[str, str]:
        await asyncio.sleep(SLOW_SECONDS)
        return {"status": "late"}

    return app


@dataclass
class Edge:
    url: str
    asset_url: str
    client: httpx.AsyncClient
    app: Any
    _superuser_token: str | None = None
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ---------------------------------------------------------------- actors through the real auth API
    async def superuser_token(self) -> str:
        if self._superuser_token is None:
            self._superuser_token = await self.login(*SUPERUSER)
        return self._superuser_token

    async def login(self, username: str, password: str) -> str:
        r = await self.client.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    async def company(self) -> int:
        token = await self.superuser_token()
        r = await self.client.post(
            "/api/gateway/companies", json={"name": f"edge-co-{next(self._names)}-{free_port()}"}, headers=bearer(token)
        )
        assert r.status_code in (200, 201), r.text
        return int(r.json()["id"])

    async def user(self, memberships: dict[int, str] | None = None) -> str:
        """A new user with these {company_id: role} memberships; returns a bearer token."""
        return (await self.account(memberships))[2]

    async def account(self, memberships: dict[int, str] | None = None) -> tuple[str, str, str]:
        """A new user with these {company_id: role} memberships; returns (username, password, token)."""
        n = f"edge{next(self._names)}x{free_port()}"
        password = "Edge-Passw0rd!" + n
        r = await self.client.post(
            "/auth/register",
            json={
                "username": n,
                "email": f"{n}@example.org",
                "password": password,
            },
        )
        assert r.status_code in (200, 201), r.text
        token = await self.login(n, password)
        if memberships:
            info = await self.client.get("/auth/info", headers=bearer(token))
            assert info.status_code == 200, info.text
            user_id = info.json()["id"]
            root = await self.superuser_token()
            for company_id, role in memberships.items():
                r = await self.client.put(
                    f"/api/gateway/companies/{company_id}/members/{user_id}", json={"role": role}, headers=bearer(root)
                )
                assert r.status_code in (200, 201, 204), r.text
        return n, password, token

    async def machine_client(self, company_id: int, budget: int | None = None) -> str:
        root = await self.superuser_token()
        body: dict[str, Any] = {"name": f"device-{next(self._names)}"}
        if budget is not None:
            body["request_budget_per_minute"] = budget
        r = await self.client.post(
            "/api/gateway/machine-clients", json=body, headers={**bearer(root), "CompanyID": str(company_id)}
        )
        assert r.status_code in (200, 201), r.text
        creds = r.json()
        tok = await self.client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert tok.status_code == 200, tok.text
        return tok.json()["access_token"]


async def replicate_membership(company_id: int, user_id: int, role: str, schema: str = "community") -> None:
    """The row a service's consumer of ``gateway.membership.v1`` writes for a membership (the edge runs no
    workers: the gateway's events are not relayed here); ``schema``: the service's (community, metering)."""
    engine = make_engine(InfraSettings(), application_name="edge-tests")
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {schema}.memberships (company_id, kind, member, role) VALUES (:c, 'user', :m, :r) "
                    "ON CONFLICT (company_id, kind, member) DO UPDATE SET role = :r"
                ),
                {"c": company_id, "m": str(user_id), "r": role},
            )
    finally:
        await engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
async def edge(migrated: Stack) -> AsyncIterator[Edge]:
    async with (
        serve_app(create_asset_app(AssetSettings(ops_allow_from=[]))) as asset_url,  # docs: the gateway's identity only
        # unit data retention off: the tests' fixed report dates must not expire as the calendar moves on
        serve_app(create_metering_app(MeteringSettings(ops_allow_from=[], unit_data_retention_days=0))) as metering_url,
        serve_app(echo_app()) as echo_url,
        serve_app(slow_app()) as slow_url,
        serve_app(
            community_upstream(create_community_app(CommunitySettings(ops_allow_from=[])), echo_app())
        ) as community_url,
    ):
        # Every upstream of the registry: the asset-, metering- and community-service, a slow one, the echo
        # for the rest (an upstream that is down: test_proxy.test_upstream_down_is_502 starts a gateway of its own).
        special = {
            "asset-service": asset_url,
            "metering-service": metering_url,
            "community-service": community_url,
            "deal-service": slow_url,
        }
        settings = GatewaySettings(
            upstreams={name: special.get(name, echo_url) for name in UPSTREAMS},
            route_timeouts={"deal-service": ROUTE_TIMEOUT},
            max_body_bytes=MAX_BODY,
            bootstrap_superuser=f"{SUPERUSER[0]}:{SUPERUSER[1]}",
            registrations_per_address=100_000,  # every test user registers from 127.0.0.1
        )
        app = create_gateway_app(settings, configure_logs=False)
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
            yield Edge(url=url, asset_url=asset_url, client=client, app=app)
