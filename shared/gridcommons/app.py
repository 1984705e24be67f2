"""The service app factory: error model, request context, health, metrics, identity, lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import make_engine, make_sessionmaker
from .errors import install_error_handlers
from .identity import IdentityVerifier
from .observability import RequestContextMiddleware, configure_logging, metrics_payload
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
    workers: WorkersFactory | None = None,
    run_workers_in_process: bool = False,
    configure_logs: bool = True,
) -> FastAPI:
    """A service's FastAPI app.

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
            await engine.dispose()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=name, max_body_bytes=settings.max_body_bytes)
    for router in routers:
        app.include_router(router)
    app.include_router(ops_router(settings))
    return app


def ops_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"], include_in_schema=False)

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
    async def metrics() -> Response:
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
