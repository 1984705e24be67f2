"""Per-request cost of tracing in the kernel's request pipeline (gridcommons.tracing).

An in-process ASGI app (the kernel's ``RequestContextMiddleware`` in front of a FastAPI route that
writes one log line and builds an outbox-style envelope with the current trace context) is called
directly, no network, so the figures are the CPU of the pipeline itself. Modes, interleaved:

- ``api-noop``: OpenTelemetry's no-op tracer provider (the floor: what the calls cost when nothing
  makes ids);
- ``off``: the default (no exporter configured): SDK provider, never sampled, ids made and propagated;
- ``on-memory``: sampled, SimpleSpanProcessor into the SDK's InMemorySpanExporter (cleared each run);
- ``on-batch``: sampled, BatchSpanProcessor into an exporter that drops the spans (what an OTLP
  exporter costs on the request path, without the network).

Each request carries a client ``traceparent`` (the gateway's and services' usual case).

    .venv/bin/python bench/tracing_overhead.py [--requests 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import time
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from gridcommons import tracing
from gridcommons.events import CloudEvent
from gridcommons.observability import JsonFormatter, RequestContextMiddleware

log = logging.getLogger("bench.tracing")


class DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def make_app() -> Any:
    app = FastAPI()

    @app.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, Any]:
        log.info("thing %s", thing)
        event = CloudEvent(source="/bench", type="bench", subject=thing, **tracing.current_headers())
        return {"thing": thing, "traceparent": event.traceparent}

    return RequestContextMiddleware(app, service="bench", max_body_bytes=1_000_000)


async def call(app: Any, i: int) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/things/{i}",
        "raw_path": f"/things/{i}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


def providers() -> dict[str, tuple[Any, InMemorySpanExporter | None]]:
    memory = InMemorySpanExporter()
    on_memory = TracerProvider()
    on_memory.add_span_processor(SimpleSpanProcessor(memory))
    on_batch = TracerProvider()
    on_batch.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    return {
        "api-noop": (NoOpTracerProvider(), None),
        "off": (tracing.provider_from_env("bench"), None),
        "on-memory": (on_memory, memory),
        "on-batch": (on_batch, None),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    handler = logging.StreamHandler(io.StringIO())  # formatted like production, written to memory
    handler.setFormatter(JsonFormatter("bench"))
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(logging.INFO)
    app = make_app()
    modes = providers()
    results: dict[str, list[float]] = {name: [] for name in modes}
    for provider, _ in modes.values():  # warm-up
        tracing.use_provider(provider)
        for i in range(500):
            await call(app, i)
    for _ in range(args.runs):
        for name, (provider, memory) in modes.items():
            tracing.use_provider(provider)
            if memory is not None:
                memory.clear()
            start = time.process_time()
            for i in range(args.requests):
                await call(app, i)
            results[name].append((time.process_time() - start) / args.requests * 1e6)
    base = statistics.median(results["api-noop"])
    print(f"{args.requests} requests x {args.runs} runs; CPU µs per request, median [min-max]")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:10s} {med:7.1f} [{min(values):.1f}-{max(values):.1f}]  +{med - base:5.1f} vs api-noop")


if __name__ == "__main__":
    asyncio.run(main())
