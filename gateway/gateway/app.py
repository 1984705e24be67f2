"""The gateway app: its own endpoints (auth package) and the edge (proxy, merged OpenAPI)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gridcommons.app import ops_router
from gridcommons.db import make_engine, make_sessionmaker
from gridcommons.errors import install_error_handlers
from gridcommons.observability import RequestContextMiddleware, configure_logging

from . import auth, edge
from .auth.db import community_replica
from .settings import GatewaySettings, load_settings


def create_app(settings: GatewaySettings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or load_settings()
    if configure_logs:
        configure_logging("gateway", settings.infra.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.infra, application_name="gateway")
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(auth.lifespan(app, settings))
            await stack.enter_async_context(edge.lifespan(app, settings))
            gc.collect()
            gc.freeze()  # start-up objects stay out of the collector's way (as in every service)
            yield
        await engine.dispose()

    app = FastAPI(
        title="GridCommons API",
        version="0.1.0",
        description="GridCommons: assets, meters, deals, monitoring and community services behind one gateway.",
        openapi_tags=auth.OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    # The community registry replica: the form doors map a device's communityId code to its company.
    app.state.registry_lookup = community_replica.lookup
    install_error_handlers(app)
    auth.install(app, settings)
    edge.install(app, settings)
    app.include_router(ops_router(settings, docs=False))  # the gateway's /openapi.json and /docs are the edge's
    # Request id, metrics and body limit apply to proxied requests too.
    app.add_middleware(RequestContextMiddleware, service="gateway", max_body_bytes=settings.max_body_bytes)
    if settings.trusted_proxies:
        # Outermost: X-Forwarded-For / -Proto only from the configured proxies, right-most untrusted
        # hop (uvicorn itself runs with --no-proxy-headers; gateway README "Client address").
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app
