"""The error model: FastAPI's 422 body for validation, ``{"detail": "..."}`` otherwise, never a trace."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("gridcommons.errors")


class DomainError(Exception):
    """A rule of the domain refused the request; carries the HTTP status to answer with."""

    status_code = 400

    def __init__(self, detail: str, *, status_code: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class Unauthorized(DomainError):
    status_code = 401


class Unprocessable(DomainError):
    status_code = 422


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if exc.detail is not None else "Error"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's own body, minus anything that is not JSON-serialisable (e.g. exception objects in ctx).
    from fastapi.encoders import jsonable_encoder

    errors = []
    for err in exc.errors():
        err = dict(err)
        if "ctx" in err:
            err["ctx"] = {
                k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v)) for k, v in err["ctx"].items()
            }
        errors.append(err)
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def _database_data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value (SQLSTATE class 22: NUL in text, out-of-range number or date, ...)
    → 422; a deadlock or serialization failure with a concurrent request → 409 (retry).

    Validation at the edge and domain rules should catch these first; this is the safety net that
    keeps them 4xx. Anything else from the database is a server error."""
    assert isinstance(exc, DBAPIError)
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    if sqlstate.startswith("22"):
        log.info("database refused a value on %s %s: %s", request.method, request.url.path, sqlstate)
        return JSONResponse({"detail": "Invalid input value"}, status_code=422)
    if sqlstate in ("40001", "40P01"):
        # Serialization failure or deadlock with a concurrent request: nothing was written; retry.
        log.info("concurrent request conflict on %s %s: %s", request.method, request.url.path, sqlstate)
        return JSONResponse(
            {"detail": "Conflicting concurrent request; retry"}, status_code=409, headers={"Retry-After": "1"}
        )
    return await _unhandled(request, exc)


DATABASE_RETRY_AFTER = 5  # seconds, in the Retry-After of a 503 while the database is away
# Connection failures as raised by asyncpg at connect time (SQLAlchemy passes them through as they are).
_CONNECT_ERRORS = (
    OSError,  # refused, reset, timed out
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.ConnectionDoesNotExistError,  # the connection was closed under us
)


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or is going away: no connection, a broken one, a shutdown,
    or no free connection in the pool in time. Not a refusal of this request's data."""
    if isinstance(exc, sa_exc.TimeoutError):  # pool checkout timed out
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        # Class 08 connection exception; 57P01-57P03 shutdown / cannot connect now.
        return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03") or _raised_by_driver(exc.orig)
    return _raised_by_driver(exc)


def _raised_by_driver(exc: BaseException | None) -> bool:
    """A connection failure raised inside asyncpg or SQLAlchemy (an ``OSError`` from anywhere
    else is not a database outage)."""
    if exc is None or not isinstance(exc, _CONNECT_ERRORS):
        return False
    if not isinstance(exc, OSError):
        return True  # asyncpg's own connection errors
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


class DatabaseOutage:
    """One warning when the database goes away, one info line when it answers again, quiet between.

    While it is away a probe checks it once a second (requests keep getting 503 meanwhile)."""

    def __init__(self) -> None:
        self.down = False
        self._probe: asyncio.Task[None] | None = None

    def failed(self, engine: Any, exc: BaseException, method: str, path: str) -> None:
        if self.down:
            return
        self.down = True
        log.warning(
            "database unavailable (%s on %s %s); answering 503 until it is reachable again",
            exc.__class__.__name__,
            method,
            path,
        )
        if engine is not None:
            self._probe = asyncio.create_task(self._wait_until_reachable(engine))

    async def _wait_until_reachable(self, engine: Any) -> None:
        from sqlalchemy import text

        while True:
            await asyncio.sleep(1.0)
            try:
                async with engine.connect() as conn:
                    await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
            except Exception:
                continue
            self.down = False
            log.info("database reachable again")
            return


DATABASE_UNAVAILABLE_BODY = {"detail": "Database unavailable; retry later"}
DATABASE_UNAVAILABLE_HEADERS = {"Retry-After": str(DATABASE_RETRY_AFTER)}


def note_database_outage(app_state: Any, exc: BaseException, method: str, path: str) -> None:
    """Record a request that failed on a database outage (logs once per outage, per app).

    For the error handlers and for pure ASGI middleware (the gateway's edge) alike, which then
    answer 503 with ``DATABASE_UNAVAILABLE_BODY`` and ``DATABASE_UNAVAILABLE_HEADERS``."""
    outage = getattr(app_state, "database_outage", None)
    if outage is None:
        outage = app_state.database_outage = DatabaseOutage()
    outage.failed(getattr(app_state, "engine", None), exc, method, path)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A database outage → 503 with Retry-After, logged once per outage; other errors of these
    types go on to their usual handler."""
    if not database_unavailable(exc):
        return await (_database_data_error if isinstance(exc, DBAPIError) else _unhandled)(request, exc)
    note_database_outage(request.app.state, exc, request.method, request.url.path)
    return JSONResponse(DATABASE_UNAVAILABLE_BODY, status_code=503, headers=DATABASE_UNAVAILABLE_HEADERS)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Outages first (503), then what the database refused (_database_data_error).
    app.add_exception_handler(DBAPIError, _database_unavailable)
    for exc_type in (sa_exc.TimeoutError, *_CONNECT_ERRORS):
        app.add_exception_handler(exc_type, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)
