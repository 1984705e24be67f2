"""The error model: FastAPI's 422 body for validation, ``{"detail": "..."}`` otherwise, never a trace.

- 422 bodies echo the offending ``input``; any value renders safely (non-finite numbers as the strings
  ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``, lone surrogates and undecodable bytes escaped).
- JSON request bodies with numbers that would not be kept as written are refused with 422 before any
  endpoint runs: ``NaN``, ``Infinity``, ``-Infinity`` (JSON has none; Python's parser accepts them),
  numbers beyond the float range (``1e400``) or below it (``1e-400``), and non-integer numbers with more
  significant digits than a double holds (send those as decimal strings). Integers stay exact.
- Database refusals: data errors (class 22) → 422; integrity errors (class 23) → 409 or 422 (see
  ``_INTEGRITY``); deadlocks and serialization failures → 409 + ``Retry-After``; anything else → 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class ValidationFailed(DomainError):
    """Input that a rule refused (an unknown id, an overlap, a window the wrong way round, a payload
    that does not match its schema): a domain error carrying the offending items, each in FastAPI's
    validation shape ``{"loc": [...], "msg": "...", "type": "...", "input": ...}``.

    Over HTTP it is a 422 whose body is exactly FastAPI's (``{"detail": [items]}``); in a consumer it
    is a poison message: ``ConsumerRunner`` sends it to the DLQ at once, with ``reason`` as the error.
    """

    status_code = 422

    def __init__(self, errors: Iterable[Mapping[str, Any]]):
        self.errors = [dict(e) for e in errors]
        super().__init__(self.reason)

    @classmethod
    def at(
        cls, loc: Sequence[str | int], msg: str, input: Any = None, *, type: str = "value_error"
    ) -> ValidationFailed:
        """One offending item: ``raise ValidationFailed.at(["query", "to"], "to must be after from", to)``."""
        return cls([field_error(loc, msg, input, type=type)])

    @property
    def reason(self) -> str:
        """The items as one line of text (``loc: msg; ...``), as the DLQ records it."""
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc') or ()) or '(root)'}: {e.get('msg', '')}" for e in self.errors
        )


def field_error(loc: Sequence[str | int], msg: str, input: Any = None, *, type: str = "value_error") -> dict[str, Any]:
    """One item of a ``ValidationFailed`` (and of a 422 body) in FastAPI's validation shape."""
    return {"loc": list(loc), "msg": msg, "type": type, "input": input}


class ErrorBody(BaseModel):
    """The body of every error answer but a 422: ``{"detail": "..."}``."""

    detail: str


# FastAPI's component for its 422 body (present in every document with a parameter or a body).
VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
_DEFAULT_DESCRIPTIONS = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict"}

ErrorSpec = type[DomainError] | tuple[type[DomainError], str]


def responses(*errors: ErrorSpec) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` of an operation that raises ``errors``: each an error class, or
    (class, description) where the operation says more than the class's default description.

    ``responses((NotFound, "No such asset in this company"), Conflict)`` documents a 404 and a 409 with
    the ``{"detail": "..."}`` body (``ErrorBody``); ``ValidationFailed`` documents the 422 with FastAPI's
    validation body. Several classes with one status: the last description wins."""
    out: dict[int | str, dict[str, Any]] = {}
    for spec in errors:
        cls, description = spec if isinstance(spec, tuple) else (spec, None)
        if issubclass(cls, ValidationFailed):
            out[422] = {
                "description": description or "Validation error",
                "content": {"application/json": {"schema": {"$ref": VALIDATION_ERROR_REF}}},
            }
        else:
            status = cls.status_code
            out[status] = {"description": description or _DEFAULT_DESCRIPTIONS.get(status, "Error"), "model": ErrorBody}
    return out


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    # Details are often built from input (ids, names): rendered as safely as a 422's input.
    return JSONResponse({"detail": json_safe(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if exc.detail is not None else "Error"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return JSONResponse({"detail": json_safe(detail)}, status_code=exc.status_code, headers=headers)


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


_MAX_INT_DIGITS = max(sys.get_int_max_str_digits() or 4300, 640) - 40


def json_safe(value: Any, _depth: int = 0) -> Any:
    """``value`` as something ``json.dumps(allow_nan=False)`` and UTF-8 encoding always accept.

    Non-finite floats become ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``, strings with lone surrogates
    are escaped (``"\\ud800"``), bytes are decoded with escapes, integers too long to print are described,
    other objects go through FastAPI's encoder (or ``str``), nesting deeper than 32 levels is elided."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_DIGITS * 3:  # ~log2(10) > 3: fewer digits than the print limit
            return f"<integer of about {int(value.bit_length() * 0.30103)} digits>"
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return _safe_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if _depth >= 32:
        return "..."
    if isinstance(value, dict):
        return {str(json_safe(k, _depth + 1)): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in value]
    try:
        from fastapi.encoders import jsonable_encoder

        encoded = jsonable_encoder(value)
    except Exception:
        return _safe_text(str(value))
    if isinstance(encoded, (dict, list)) or encoded is None or isinstance(encoded, (bool, int, float, str)):
        return json_safe(encoded, _depth + 1)
    return _safe_text(str(encoded))


def _safe_text(value: str) -> str:
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def validation_body(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """FastAPI's 422 body for ``errors``; every value (the echoed input above all) rendered safely:
    exception objects in ctx as text, NaN/Infinity as strings, lone surrogates escaped."""
    items = []
    for err in errors:
        item = dict(err)
        if "ctx" in item and isinstance(item["ctx"], dict):
            item["ctx"] = {
                k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v)) for k, v in item["ctx"].items()
            }
        items.append(item)
    return {"detail": json_safe(items)}


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    # FastAPI's request validation and the domain's ValidationFailed: one body shape.
    if isinstance(exc, ValidationFailed):
        return JSONResponse(validation_body(exc.errors), status_code=422, headers=exc.headers)
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_body(exc.errors()), status_code=422)


# Integrity errors (SQLSTATE class 23) that reach the handler: a domain rule should have answered first
# (an unknown id is a 404/422, a duplicate a 409, ...); when a concurrent request slipped between the
# check and the write, this is the answer. (status, detail) per SQLSTATE; the constraint is not named.
_INTEGRITY: dict[str, tuple[int, str]] = {
    "23502": (422, "A required value is missing"),  # not_null_violation
    "23503": (422, "A referenced resource does not exist (it may have been deleted meanwhile)"),  # foreign_key
    "23505": (409, "Conflicts with an existing resource"),  # unique_violation
    "23514": (422, "Invalid input value"),  # check_violation
    "23P01": (409, "Conflicts with an existing resource (overlap)"),  # exclusion_violation
    "23001": (409, "The resource is still referenced by other resources"),  # restrict_violation
}
_STILL_REFERENCED = (409, "The resource is still referenced by other resources")


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", "") or getattr(exc.orig, "pgcode", "") or "")


def integrity_answer(exc: DBAPIError) -> tuple[int, str] | None:
    """(status, detail) for an integrity error (SQLSTATE class 23), None for any other error."""
    sqlstate = _sqlstate(exc)
    if not sqlstate.startswith("23"):
        return None
    if sqlstate == "23503":
        # The same SQLSTATE for both directions: a row that references a missing one (insert/update of
        # the referencing row) or a row still referenced (delete/update of the referenced one, no cascade).
        cause = exc.orig.__cause__ if exc.orig is not None else None
        detail = str(getattr(cause, "detail", "") or "") or str(exc.orig)
        if "still referenced" in detail:
            return _STILL_REFERENCED
    return _INTEGRITY.get(sqlstate, (409, "Conflicts with the current state of a resource"))


async def _database_data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value (SQLSTATE class 22: NUL in text, out-of-range number or date, ...)
    → 422; an integrity constraint (class 23) → 409/422 (``_INTEGRITY``); a deadlock or serialization
    failure with a concurrent request → 409 (retry).

    Validation at the edge and domain rules should catch these first; this is the safety net that
    keeps them 4xx. Anything else from the database is a server error."""
    assert isinstance(exc, DBAPIError)
    sqlstate = _sqlstate(exc)
    if sqlstate.startswith("22"):
        log.info("database refused a value on %s %s: %s", request.method, request.url.path, sqlstate)
        return JSONResponse(unprocessable_body("Invalid input value"), status_code=422)
    answer = integrity_answer(exc)
    if answer is not None:
        log.info("integrity constraint refused a write on %s %s: %s", request.method, request.url.path, sqlstate)
        status, message = answer
        body = unprocessable_body(message) if status == 422 else {"detail": message}
        return JSONResponse(body, status_code=status)
    if sqlstate in ("40001", "40P01"):
        # Serialization failure or deadlock with a concurrent request: nothing was written; retry.
        log.info("concurrent request conflict on %s %s: %s", request.method, request.url.path, sqlstate)
        return JSONResponse(
            {"detail": "Conflicting concurrent request; retry"}, status_code=409, headers={"Retry-After": "1"}
        )
    return await _unhandled(request, exc)


# ---------------------------------------------------------------- JSON numbers a double cannot hold


class UnsafeJsonNumber(ValueError):
    """A JSON number that is not kept as written: NaN/Infinity, beyond the float range, or with more
    significant digits than a binary double holds (it would be rounded silently)."""

    def __init__(self, token: str, reason: str):
        super().__init__(f"{token}: {reason}")
        self.token = token
        self.reason = reason


NON_FINITE = "JSON has no NaN or Infinity, and numbers beyond ±1.7976931348623157e308 overflow"
INEXACT = "more significant digits than a JSON number (IEEE 754 double) keeps: send it as a decimal string"


def _refuse_constant(token: str) -> float:
    raise UnsafeJsonNumber(token, NON_FINITE)


def _exact_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise UnsafeJsonNumber(token, NON_FINITE)
    # repr() is the shortest text that reads back as the same double: equal as decimals means the
    # number survives as written (1.10, 1e2, 0.30000000000000004), otherwise digits would be lost.
    if Decimal(token) != Decimal(repr(value)):
        raise UnsafeJsonNumber(token, INEXACT)
    return value


def strict_json_loads(data: str | bytes) -> Any:
    """``json.loads`` that refuses (``UnsafeJsonNumber``, a ValueError) NaN, Infinity, -Infinity, numbers
    beyond the float range and non-integer numbers a double cannot hold as written; integers stay exact.
    Other errors as ``json.loads`` raises them."""
    return json.loads(data, parse_constant=_refuse_constant, parse_float=_exact_float)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return False


class FiniteJsonMiddleware:
    """Refuses (422, FastAPI's ``json_invalid`` shape) a JSON request body with a number that would not
    be kept as written (``strict_json_loads``).

    Pure ASGI: watches the body of a request whose content type is JSON as the app reads it (so the
    body-size limit that routing sets for the route still applies), parses it once with
    ``strict_json_loads`` when its last chunk arrives, and raises an ``HTTPException`` (rendered by the
    error handlers) instead of handing over a body with such a number; a body that is not valid JSON
    passes on (the app's own parser answers it)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = b"".join(chunks)
                chunks.clear()
                if body:
                    _check_json_numbers(body)
            return message

        await self.app(scope, checked_receive, send)


def _check_json_numbers(body: bytes) -> None:
    try:
        strict_json_loads(body)
    except UnsafeJsonNumber as exc:
        error = {
            "type": "json_invalid",
            "loc": ["body"],
            "msg": f"JSON number {exc.token[:64]} refused: {exc.reason}",
            "input": exc.token[:64],
            "ctx": {"error": exc.reason},
        }
        raise StarletteHTTPException(422, detail=[error]) from None  # type: ignore[arg-type]
    except (ValueError, RecursionError):
        pass  # not JSON (or not UTF-8, or nested too deep): the app's own parser answers


def unprocessable_body(message: str) -> dict[str, Any]:
    """A 422 that no validator produced, in the shape of every other 422 (FastAPI's HTTPValidationError),
    as the documents declare it."""
    return {"detail": [{"type": "value_error", "loc": ["body"], "msg": message, "input": None}]}


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
    app.add_exception_handler(ValidationFailed, _validation_error)
    # Outages first (503), then what the database refused (_database_data_error).
    app.add_exception_handler(DBAPIError, _database_unavailable)
    for exc_type in (sa_exc.TimeoutError, *_CONNECT_ERRORS):
        app.add_exception_handler(exc_type, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)
    app.add_middleware(FiniteJsonMiddleware)
