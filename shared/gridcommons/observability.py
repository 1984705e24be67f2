"""JSON logs carrying the request and trace ids, Prometheus metrics, and the request-context middleware
(request id, server span, metrics, body limit)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import DATABASE_UNAVAILABLE_BODY, DATABASE_UNAVAILABLE_HEADERS, database_unavailable, note_database_outage
from .tracing import configure_tracing, context_from, tracer

_log = logging.getLogger("gridcommons.errors")
_access = logging.getLogger("gridcommons.access")  # one DEBUG line per request
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """The process's JSON logs on stderr, and its tracing (``gridcommons.tracing.configure_tracing``:
    export only when the OpenTelemetry environment asks for it)."""
    configure_tracing(service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def valid_request_id(value: str | None) -> str:
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


# Where a route's own body limit is found in the ASGI scope (Starlette's/FastAPI's per-route ``max_body_size``).
ROUTE_BODY_LIMIT_KEY = MAX_BODY_SIZE_SCOPE_KEY


class RequestContextMiddleware:
    """Pure ASGI: request id in/out, the request's SERVER span (continuing a valid ``traceparent``,
    else a new trace), metrics by route template, body size limit (413)."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int):
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        content_length = None
        traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
        rid = valid_request_id(rid)
        token = request_id_var.set(rid)
        method = scope.get("method", "")
        span = tracer(self.service).start_span(
            method,
            context=context_from(traceparent, tracestate) or Context(),
            kind=SpanKind.SERVER,
            record_exception=False,
        )
        span_token = otel_context.attach(trace.set_span_in_context(span))
        start = time.perf_counter()
        status = 500
        started = False
        default_limit = self.max_body_bytes
        try:
            declared = int(content_length) if content_length is not None else None
        except ValueError:
            declared = None
        refused = False

        def body_limit() -> int:
            # A route's own limit (FastAPI's ``max_body_size`` on the route, or the gateway's route table)
            # is set in the scope once the request is routed; it overrides the process default.
            route_limit = scope.get(ROUTE_BODY_LIMIT_KEY)
            return route_limit if isinstance(route_limit, int) else default_limit

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started, refused
            if refused:
                return  # the app's own answer to a refused body is dropped
            if message["type"] == "http.response.start":
                if declared is not None and declared > body_limit():
                    # The app answered without reading the body (e.g. 404): the declared size is still refused.
                    refused = True
                    limit = body_limit()
                    await _send_json(send_wrapper_raw, 413, {"detail": f"Request body larger than {limit} bytes"})
                    return
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        async def send_wrapper_raw(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                limit = body_limit()
                if declared is not None and declared > limit:
                    raise _BodyTooLarge(limit)
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge(limit)
                return message

            try:
                await self.app(scope, limited_receive, send_wrapper)
            except _BodyTooLarge as exc:
                if not started and not refused:
                    await _send_json(send_wrapper_raw, 413, {"detail": exc.detail})
            except Exception as exc:
                # Answered here rather than by Starlette's outer error middleware, so the 500
                # carries the request id and the log line names it. Never a trace in the body.
                # A database outage in a pure ASGI middleware (the gateway's edge) is a 503, as
                # in the error handlers.
                app = scope.get("app")
                if app is not None and database_unavailable(exc):
                    note_database_outage(app.state, exc, scope.get("method", ""), scope.get("path", ""))
                    if not started:
                        headers = [(k.lower().encode(), v.encode()) for k, v in DATABASE_UNAVAILABLE_HEADERS.items()]
                        await _send_json(send_wrapper, 503, DATABASE_UNAVAILABLE_BODY, headers)
                    return
                _log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                if not started:
                    await _send_json(send_wrapper, 500, {"detail": "Internal server error"})
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, template).observe(time.perf_counter() - start)
            _access.debug("%s: %s %s -> %d", self.service, method, scope.get("path", ""), status)
            if span.is_recording():
                if template != "unmatched":
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                span.set_attribute("http.request.method", method)
                span.set_attribute("url.path", scope.get("path", ""))
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            span.end()
            otel_context.detach(span_token)
            request_id_var.reset(token)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so the app's own handlers turn it into a JSON 413."""

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"Request body larger than {limit} bytes")


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": raw})


def metrics_payload() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
