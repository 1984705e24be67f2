"""The service app factory: error model, request context, health, metrics, identity, lifespan."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from . import openapi as _openapi  # noqa: F401  (describes the validation error components)
from .db import make_engine, make_sessionmaker
from .errors import NotFound, install_error_handlers
from .identity import INTERNAL_IDENTITY_HEADER, Identity, IdentityVerifier
from .internal_client import close_internal_clients
from .observability import RequestContextMiddleware, configure_logging, metrics_payload
from .openapi_links import resolve_links
from .settings import ServiceSettings
from .worker import Worker, run_workers, workers_health

log = logging.getLogger("gridcommons.app")

WorkersFactory = Callable[[Any, AsyncEngine], Sequence[Worker]]


def create_service_app(
    *,
    name: str,
    title: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    version: str = "0.1.0",
    description: str = "",
    tags: Sequence[dict[str, str]] = (),
    workers: WorkersFactory | None = None,
    run_workers_in_process: bool = False,
    configure_logs: bool = True,
) -> FastAPI:
    """A service's FastAPI app.

    ``tags``: the OpenAPI tags of the service's routers, each with a one-line description, in the
    order a user explores them (see ``gridcommons.openapi``).

    In production each worker (outbox relay, consumers) runs as its own process
    (``python -m gridcommons.worker``); tests may run them inside the app's lifespan instead.
    """
    if configure_logs:
        configure_logging(name, settings.infra.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.infra, application_name=name)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        pem = settings.infra.identity_public_key_pem()
        app.state.identity_verifier = IdentityVerifier(pem) if pem else None
        if pem is None:
            log.warning("no internal identity public key configured: every request will get 401")
        stop = asyncio.Event()
        task = None
        app.state.workers = ()
        if run_workers_in_process and workers is not None:
            app.state.workers = workers(settings, engine)
            task = asyncio.create_task(run_workers(app.state.workers, stop))
        # Start-up objects (modules, routes, schemas) never die: keep them out of the collector's
        # generations, so large responses do not pay for rescanning them.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await close_internal_clients(app)
            await engine.dispose()

    # /openapi.json and /docs are the ops router's (guarded), not FastAPI's public ones.
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        openapi_tags=list(tags) or None,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=name, max_body_bytes=settings.max_body_bytes)
    for router in routers:
        app.include_router(router)
    app.include_router(ops_router(settings))
    install_openapi(app)
    return app


# The identity the gateway presents when it fetches a service's /openapi.json to merge it.
DOCS_READER = Identity(subject="gateway", kind="service", company_id=None)


class OpsAccess:
    """Who may read the operations endpoints: direct peers in ``ops_allow_from`` (default
    loopback), and for a service's API document also the gateway (a valid internal identity of
    kind ``service``) or anyone with ``public_docs``. Others get 404, as if there were nothing."""

    def __init__(self, settings: ServiceSettings):
        self.networks = [ipaddress.ip_network(v, strict=False) for v in settings.ops_allow_from]
        self.public_docs = settings.public_docs

    def peer_allowed(self, request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def metrics(self, request: Request) -> None:
        if not self.peer_allowed(request):
            raise NotFound("Not Found")

    def docs(self, request: Request) -> None:
        if self.public_docs or self.peer_allowed(request):
            return
        verifier: IdentityVerifier | None = getattr(request.app.state, "identity_verifier", None)
        token = request.headers.get(INTERNAL_IDENTITY_HEADER)
        if verifier is not None and token:
            try:
                if verifier.verify(token).kind == DOCS_READER.kind:
                    return
            except Exception:
                pass
        raise NotFound("Not Found")


def install_openapi(app: FastAPI) -> None:
    """The app's OpenAPI document with its declared links resolved to operation ids (``openapi_links``).

    FastAPI keeps separate request and response schemas (a model whose two JSON schemas differ becomes
    ``<Name>-Input`` / ``<Name>-Output``, both titled ``<Name>``, which SDK generators reject as
    duplicates); the kernel's wire types (``quantity``) have one schema for both, and
    ``tests/kernel/test_openapi_links.py`` keeps every service free of such pairs.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = resolve_links(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def ops_router(settings: ServiceSettings, *, docs: bool = True) -> APIRouter:
    """/healthz and /readyz (anyone), /metrics and, with ``docs``, /openapi.json (guarded by
    :class:`OpsAccess`). A service has no Swagger UI page of its own: its operations answer only
    requests carrying the gateway's signed identity, so a page could not execute them; its document
    is read in the gateway's ``/docs`` (merged, pinned assets, offline)."""
    router = APIRouter(tags=["operations"], include_in_schema=False)
    access = OpsAccess(settings)

    if docs:

        @router.get("/openapi.json")
        async def openapi(request: Request) -> JSONResponse:
            access.docs(request)
            return JSONResponse(request.app.openapi())

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        """The database answers, and every worker run in this process reports ready.

        The API itself never talks to the broker (events leave through the outbox); a worker
        process answers its own /readyz (``gridcommons.worker``, ``WORKER_HEALTH_PORT``)."""
        checks: dict[str, Any] = {
            "database": "ok" if await database_reachable(request.app.state.engine) else "unavailable",
        }
        ok = checks["database"] == "ok"
        workers = getattr(request.app.state, "workers", ())
        if workers:
            workers_ok, checks["workers"] = workers_health(workers)
            ok = ok and workers_ok
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        access.metrics(request)
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)

    return router


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
        return True
    except Exception:
        return False
