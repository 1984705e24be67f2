"""Distributed tracing: W3C trace context carried through HTTP, the outbox and Kafka (OpenTelemetry).

One trace follows a request from the client through the gateway, the service, the outbox row, the
Kafka message and the consumer that handles it:

- HTTP: ``RequestContextMiddleware`` continues the ``traceparent``/``tracestate`` of the request
  (a missing or invalid one starts a new trace, never an error) in a SERVER span; the gateway's
  proxy opens a CLIENT span and sends its own ``traceparent`` upstream (the client's is replaced).
- Outbox: ``Outbox.publish`` records the context in the CloudEvents envelope (distributed-tracing
  extension attributes ``traceparent``/``tracestate``; no extra column: the payload is the envelope).
- Relay: each event is sent in a PRODUCER span, child of the envelope's context; the Kafka message
  carries that span as ``traceparent`` (and ``tracestate``) and the envelope's own values as
  ``ce_traceparent``/``ce_tracestate``.
- Consumers (``ConsumerRunner``, hence every ingestion door): each message is handled in a CONSUMER
  span continuing its ``traceparent`` header (else ``ce_traceparent``; else a new trace).
- Logs: every JSON log line written inside a span has ``trace_id`` and ``span_id``.

Export is off unless configured through the standard OpenTelemetry variables: ``OTEL_TRACES_EXPORTER``
(``otlp``, ``console`` or ``none``), or an ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` alone (OTLP over HTTP/protobuf); ``OTEL_SDK_DISABLED=true``
turns it off. Without an exporter the spans are never sampled: ids are still made and propagated
(for the logs and downstream processes), nothing is recorded. With an exporter the sampler is the
SDK's (``OTEL_TRACES_SAMPLER``, default parent-based always-on).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("gridcommons.tracing")

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
CE_TRACEPARENT = "ce_traceparent"  # CloudEvents Kafka binding name of the envelope's extension attribute
CE_TRACESTATE = "ce_tracestate"

_propagator = TraceContextTextMapPropagator()


class _State:
    provider: trace.TracerProvider | None = None
    tracers: dict[str, Tracer] = {}


def exporter_from_env() -> SpanExporter | None:
    """The span exporter the standard OpenTelemetry variables ask for; None (no export) by default."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        names = ["otlp"] if endpoint else []
    if not names or names == ["none"]:
        return None
    name = names[0]
    if name == "otlp":
        protocol = (
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
        )
        if protocol and protocol != "http/protobuf":
            log.warning("OTLP protocol %r is not installed; using http/protobuf", protocol)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout, compression: from OTEL_EXPORTER_OTLP_*
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    log.warning("unknown OTEL_TRACES_EXPORTER %r: traces are not exported", name)
    return None


def provider_from_env(service: str) -> TracerProvider:
    exporter = exporter_from_env()
    if exporter is None:
        return TracerProvider(sampler=ALWAYS_OFF, resource=Resource.get_empty())
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service: str) -> None:
    """Once per process (app factories, worker processes): the provider the environment asks for.
    A provider already installed (``use_provider``, or an earlier call) is kept."""
    if _State.provider is None:
        use_provider(provider_from_env(service))


def use_provider(provider: trace.TracerProvider | None) -> trace.TracerProvider | None:
    """Install ``provider`` for the kernel's spans (None: back to the default); returns the previous one.
    Tests install one with an in-memory exporter."""
    previous, _State.provider = _State.provider, provider
    _State.tracers = {}
    return previous


def tracer(name: str) -> Tracer:
    """The tracer of one component (its name is the spans' instrumentation scope)."""
    found = _State.tracers.get(name)
    if found is None:
        if _State.provider is None:
            _State.provider = TracerProvider(sampler=ALWAYS_OFF, resource=Resource.get_empty())
        found = _State.tracers[name] = _State.provider.get_tracer(name)
    return found


def context_from(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The remote context of a ``traceparent`` (None when absent; an invalid one gives an empty context,
    so the span starts a new trace)."""
    if not traceparent:
        return None
    carrier = {TRACEPARENT: traceparent}
    if tracestate:
        carrier[TRACESTATE] = tracestate
    return _propagator.extract(carrier)


def context_from_headers(headers: Iterable[tuple[Any, Any]], *, fallback: str | None = None) -> Context | None:
    """The context of ``traceparent``/``tracestate`` among headers (names and values as str or bytes,
    as in ASGI scopes and Kafka records); ``fallback`` names a header read when ``traceparent`` is absent."""
    parent = state = backup = None
    for name, value in headers:
        key = name.decode("latin-1").lower() if isinstance(name, bytes) else name.lower()
        if key == TRACEPARENT:
            parent = value
        elif key == TRACESTATE:
            state = value
        elif fallback is not None and key == fallback:
            backup = value
    raw = parent if parent is not None else backup
    if raw is None:
        return None
    return context_from(_text(raw), _text(state) if state is not None else None)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def current_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span; empty outside a valid span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def trace_id_hex(span: Span | None = None) -> str | None:
    ctx = (span or trace.get_current_span()).get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def consuming(consumer: str, msg: Any) -> Iterator[Span]:
    """The CONSUMER span of one Kafka message (``ConsumerRunner``): continues the message's trace."""
    parent = context_from_headers(msg.headers or (), fallback=CE_TRACEPARENT)
    with tracer(consumer).start_as_current_span(
        f"{msg.topic} process", context=parent or Context(), kind=SpanKind.CONSUMER, record_exception=False
    ) as span:
        if span.is_recording():
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.operation.type", "process")
            span.set_attribute("messaging.destination.name", msg.topic)
            span.set_attribute("messaging.consumer.group.name", consumer)
            span.set_attribute("messaging.destination.partition.id", str(msg.partition))
            span.set_attribute("messaging.kafka.offset", msg.offset)
        yield span


def mark_error(description: str) -> None:
    """The current span failed (e.g. a message sent to the dead-letter topic)."""
    trace.get_current_span().set_status(Status(StatusCode.ERROR, description[:200]))


__all__ = [
    "CE_TRACEPARENT",
    "CE_TRACESTATE",
    "TRACEPARENT",
    "TRACESTATE",
    "SpanKind",
    "configure_tracing",
    "consuming",
    "context_from",
    "context_from_headers",
    "current_headers",
    "exporter_from_env",
    "mark_error",
    "provider_from_env",
    "trace_id_hex",
    "tracer",
    "use_provider",
]
