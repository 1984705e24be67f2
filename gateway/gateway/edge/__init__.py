"""Gateway edge: the route table, the reverse proxy (pure ASGI, aiohttp pools), the merged OpenAPI and /docs.

``install`` registers the proxy middleware (it sits inside the kernel's RequestContextMiddleware,
in front of FastAPI's router) and the docs routes; ``lifespan`` opens one aiohttp session per
upstream and the internal identity signer, and closes the sessions on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gridcommons.identity import IdentitySigner
from gridcommons.keys import read_pem

from ..settings import GatewaySettings
from .openapi import OpenAPIMerger, install_docs
from .proxy import EdgeMiddleware, EdgeState
from .ratelimit import TokenBuckets
from .routes import ROUTES, Route, RouteTable
from .upstreams import make_session, upstream_urls

__all__ = ["ROUTES", "Route", "RouteTable", "install", "lifespan"]

log = logging.getLogger("gateway.edge")


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Register the proxy middleware and the /openapi.json, /docs routes."""
    table = RouteTable(ROUTES, settings.route_timeouts)
    edge = EdgeState(table, TokenBuckets(settings.machine_client_budget_per_minute))
    edge.app_state = app.state
    edge.connect_timeout = settings.upstream_connect_timeout
    app.state.edge = edge
    merger = OpenAPIMerger(app, edge, table, settings.openapi_cache_seconds)
    app.state.openapi_merger = merger
    install_docs(app, {"merger": merger})
    app.add_middleware(EdgeMiddleware, edge=edge)


def _identity_key(settings: GatewaySettings) -> str | None:
    """A configured key file that is missing or unreadable stops start-up (``gridcommons.keys``)."""
    return read_pem(
        "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY",
        settings.internal_identity_private_key,
        settings.internal_identity_private_key_file,
    )


@asynccontextmanager
async def lifespan(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[None]:
    edge: EdgeState = app.state.edge
    pem = _identity_key(settings)
    if pem is None:
        log.warning("no internal identity private key configured: proxied requests will get 503")
    edge.signer = IdentitySigner(pem) if pem else None
    edge.urls = upstream_urls(settings)
    edge.sessions = {name: make_session(settings) for name in edge.urls}
    # The table is the only door: say so if the gateway grew a route it does not cover.
    try:
        own = get_openapi(title=app.title, version=app.version, routes=app.routes).get("paths", {})
    except Exception:  # a broken schema must not stop the gateway; /openapi.json will show the error
        log.exception("could not build the gateway's own OpenAPI document")
        own = {}
    for path in own:
        match = edge.table.match(path)
        if match is None or match.service is not None:
            log.warning("gateway route %s is not a local route of the route table: unreachable", path)
    try:
        yield
    finally:
        sessions, edge.sessions = edge.sessions, {}
        await asyncio.gather(*(s.close() for s in sessions.values()), return_exceptions=True)
