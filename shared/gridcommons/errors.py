"""The error model: FastAPI's 422 body for validation, ``{"detail": "..."}`` otherwise, never a trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if exc.detail is not None else "Error"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


def allowed_methods(request: Request) -> str:
    """The ``Allow`` value of a 405: the methods of every route whose path matches (FastAPI adds one
    route per method, and Starlette's own 405 names only the first matching route's methods)."""
    methods: set[str] = set()
    _collect_methods(request.app.router.routes, {**request.scope, "method": ""}, methods)
    return ", ".join(sorted(methods))


def _collect_methods(routes: Any, scope: dict[str, Any], methods: set[str]) -> None:
    from starlette.routing import Match

    for route in routes:
        candidates = getattr(route, "effective_candidates", None)  # FastAPI's included routers
        if callable(candidates):
            _collect_methods(candidates(), scope, methods)
            continue
        match, _ = route.matches(scope)  # no method matches "": every path match is PARTIAL
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())


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
        # The shape of every other 422 (FastAPI's HTTPValidationError), as the documents declare it.
        return JSONResponse(
            {"detail": [{"type": "value_error", "loc": ["body"], "msg": "Invalid input value", "input": None}]},
            status_code=422,
        )
    if sqlstate in ("40001", "40P01"):
        # Serialization failure or deadlock with a concurrent request: nothing was written; retry.
        log.info("concurrent request conflict on %s %s: %s", request.method, request.url.path, sqlstate)
        return JSONResponse(
            {"detail": "Conflicting concurrent request; retry"}, status_code=409, headers={"Retry-After": "1"}
        )
    return await _unhandled(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_data_error)
    app.add_exception_handler(Exception, _unhandled)
