"""One trace from a client's request to the consumer of its event (gridcommons.tracing).

Real processes' pieces over real HTTP and the real broker: the gateway and asset-service served by
uvicorn (asset-service with its outbox relay and ingestion consumers running), a kernel
``ConsumerRunner`` of ``assets.asset.v1``, spans recorded by OpenTelemetry's in-memory exporter and
the JSON log lines captured from the kernel's formatter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.ext.asyncio import AsyncSession

from asset_service.app import create_app as create_asset_app
from asset_service.db import outbox as asset_outbox
from asset_service.settings import AssetSettings
from gateway.app import create_app as create_gateway_app
from gateway.settings import GatewaySettings
from gridcommons import tracing
from gridcommons.consumer import ConsumerRunner
from gridcommons.db import make_engine, make_sessionmaker
from gridcommons.events import CloudEvent
from gridcommons.kafka import make_producer
from gridcommons.observability import JsonFormatter
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack, ingest_headers
from gridcommons.testing.servers import serve_app

SUPERUSER = ("trace-root", "trace-root-Passw0rd!")
ASSET_TOPIC = "assets.asset.v1"
STATUS_TOPIC = "ingest.asset-statuses.v1"
ASSET = {
    "code": "tr",
    "name": "Traced Park",
    "type": "PV",
    "region": "DE",
    "delivery_area": "50HZ",
    "provider": "ENTELIOS",
}
log = logging.getLogger("gridcommons.tests.tracing")


class JsonLines(logging.Handler):
    """Every log record as the kernel's JSON line, parsed back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("trace-test"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def of_trace(self, trace_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("trace_id") == trace_id]


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # the SDK's default sampler: parent-based, always on
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(previous)
        provider.shutdown()


@pytest.fixture(scope="module")
def logs() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in ("gridcommons", "gateway")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@dataclass
class System:
    client: httpx.AsyncClient
    handled: dict[str, dict[str, Any]]  # event id -> what the test consumer saw
    engine: Any

    async def token(self, memberships: dict[int, str]) -> str:
        name = f"tr{uuid.uuid4().hex[:10]}"
        password = f"Trace-Passw0rd!{name}"
        r = await self.client.post(
            "/auth/register", json={"username": name, "email": f"{name}@example.org", "password": password}
        )
        assert r.status_code in (200, 201), r.text
        token = await self.login(name, password)
        user_id = (await self.client.get("/auth/info", headers=bearer(token))).json()["id"]
        root = await self.login(*SUPERUSER)
        for company_id, role in memberships.items():
            r = await self.client.put(
                f"/api/gateway/companies/{company_id}/members/{user_id}", json={"role": role}, headers=bearer(root)
            )
            assert r.status_code in (200, 201, 204), r.text
        return token

    async def login(self, username: str, password: str) -> str:
        r = await self.client.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def company(self) -> int:
        root = await self.login(*SUPERUSER)
        r = await self.client.post(
            "/api/gateway/companies", json={"name": f"trace-co-{uuid.uuid4().hex[:10]}"}, headers=bearer(root)
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def system(migrated: Stack, spans: InMemorySpanExporter, logs: JsonLines) -> AsyncIterator[System]:
    infra = InfraSettings()
    engine = make_engine(infra, application_name="trace-test-consumer")
    handled: dict[str, dict[str, Any]] = {}

    async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        event = CloudEvent.from_bytes(msg.value or b"")
        log.info("test consumer got %s", event.id)
        handled[event.id] = {"headers": dict(msg.headers or ()), "trace_id": tracing.trace_id_hex()}

    runner = ConsumerRunner(
        name=f"trace-test-{uuid.uuid4().hex[:8]}",
        topics=(ASSET_TOPIC,),
        handler=handle,
        sessionmaker=make_sessionmaker(engine),
        outbox=asset_outbox,
        infra=infra,
    )
    stop = asyncio.Event()
    consumer = asyncio.create_task(runner.run(stop))
    asset_app = create_asset_app(AssetSettings(), run_workers_in_process=True)
    root = logging.getLogger()
    if logs not in root.handlers:  # the app factory set up the process's logging afresh
        root.addHandler(logs)
    try:
        async with serve_app(asset_app) as asset_url:
            settings = GatewaySettings(
                upstreams={"asset-service": asset_url},
                bootstrap_superuser=":".join(SUPERUSER),
                registrations_per_address=100_000,
            )
            async with (
                serve_app(create_gateway_app(settings, configure_logs=False)) as url,
                httpx.AsyncClient(base_url=url, timeout=20) as client,
            ):
                yield System(client, handled, engine)
    finally:
        stop.set()
        await consumer
        await engine.dispose()


def by_id(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]


def only(items: list[ReadableSpan], want: Callable[[ReadableSpan], bool], what: str) -> ReadableSpan:
    found = [s for s in items if want(s)]
    assert len(found) == 1, (what, [(s.name, s.kind, s.instrumentation_scope.name) for s in items])
    return found[0]


def parent_of(span: ReadableSpan) -> str | None:
    return format(span.parent.span_id, "016x") if span.parent is not None else None


def span_id(span: ReadableSpan) -> str:
    return format(span.context.span_id, "016x")


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def messages(lines: list[dict[str, Any]]) -> list[str]:
    return [line["msg"] for line in lines]


async def test_one_trace_from_the_client_to_the_consumer(
    system: System, spans: InMemorySpanExporter, logs: JsonLines, stack: Stack
) -> None:
    company = await system.company()
    token = await system.token({company: "operator"})
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    r = await system.client.post(
        "/api/assets",
        json=ASSET,
        headers={**bearer(token), "CompanyID": str(company), "traceparent": f"00-{trace_id}-{client_span}-01"},
    )
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]

    # The outbox row: the envelope carries the context (CloudEvents distributed-tracing extension).
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow(
            "SELECT event_id, payload FROM asset.outbox WHERE key = $1 AND payload->>'companyid' = $2",
            asset_id,
            str(company),
        )
    finally:
        await conn.close()
    payload = orjson.loads(row["payload"])
    assert payload["traceparent"].split("-")[1] == trace_id
    event_id = row["event_id"]

    # The Kafka message and the consumer's handling continue the same trace.
    seen = await eventually(lambda: system.handled.get(event_id))
    assert seen["trace_id"] == trace_id
    assert seen["headers"]["ce_traceparent"].decode() == payload["traceparent"]
    header = seen["headers"]["traceparent"].decode()
    assert header.split("-")[1] == trace_id and header != payload["traceparent"]  # the relay's span
    await eventually(lambda: any(s.kind == SpanKind.CONSUMER for s in by_id(spans, trace_id)))

    # Spans: client -> gateway request -> proxy -> service request -> outbox create -> relay publish -> consume.
    recorded = by_id(spans, trace_id)
    gateway = only(recorded, lambda s: s.kind == SpanKind.SERVER and s.instrumentation_scope.name == "gateway", "gw")
    proxy = only(recorded, lambda s: s.kind == SpanKind.CLIENT, "proxy")
    service = only(
        recorded, lambda s: s.kind == SpanKind.SERVER and s.instrumentation_scope.name == "asset-service", "svc"
    )
    create = only(recorded, lambda s: s.name == f"{ASSET_TOPIC} create", "create")
    publish = only(recorded, lambda s: s.name == f"{ASSET_TOPIC} publish", "publish")
    consume = only(recorded, lambda s: s.kind == SpanKind.CONSUMER, "consume")
    assert parent_of(gateway) == client_span and gateway.parent is not None and gateway.parent.is_remote
    assert parent_of(proxy) == span_id(gateway)
    assert parent_of(service) == span_id(proxy)
    assert parent_of(create) == span_id(service)
    assert parent_of(publish) == span_id(create)
    assert parent_of(consume) == span_id(publish)
    assert header.split("-")[2] == span_id(publish)
    assert payload["traceparent"].split("-")[2] == span_id(create)
    assert proxy.name == "POST asset-service" and proxy.attributes["http.response.status_code"] == 201
    assert service.name == "POST /api/assets" and service.attributes["http.response.status_code"] == 201
    assert consume.name == f"{ASSET_TOPIC} process" and consume.attributes["messaging.kafka.offset"] >= 0
    assert create.kind == publish.kind == SpanKind.PRODUCER

    # The JSON log lines of every step name the trace.
    lines = messages(logs.of_trace(trace_id))
    assert "gateway: POST /api/assets -> 201" in lines
    assert any(m.startswith("proxied POST /api/assets to asset-service: 201") for m in lines), lines
    assert "asset-service: POST /api/assets -> 201" in lines
    assert any(m.startswith(f"event {event_id} (") and "written to the outbox" in m for m in lines), lines
    assert any(m.endswith(f"sent event {event_id} to {ASSET_TOPIC}") for m in lines), lines
    assert f"test consumer got {event_id}" in lines
    assert any(m.endswith(f"handled event {event_id}") for m in lines), lines
    for line in logs.of_trace(trace_id):
        assert len(line["span_id"]) == 16


async def test_gateway_starts_a_trace_and_ignores_an_invalid_one(
    system: System, spans: InMemorySpanExporter, logs: JsonLines
) -> None:
    company = await system.company()
    token = await system.token({company: "member"})
    headers = {**bearer(token), "CompanyID": str(company)}
    for sent in (None, "00-not-a-valid-traceparent-01", f"00-{'0' * 32}-{'1' * 16}-01"):
        rid = uuid.uuid4().hex
        extra = {"X-Request-ID": rid} | ({"traceparent": sent} if sent else {})
        r = await system.client.get("/api/assets", headers=headers | extra)
        assert r.status_code == 200, (sent, r.text)
        mine = [line for line in logs.lines if line.get("request_id") == rid]
        gateway_line = next(line for line in mine if line["msg"] == "gateway: GET /api/assets -> 200")
        service_line = next(line for line in mine if line["msg"] == "asset-service: GET /api/assets -> 200")
        trace_id = gateway_line["trace_id"]
        assert service_line["trace_id"] == trace_id and trace_id != "0" * 32
        recorded = by_id(spans, trace_id)
        root = only(recorded, lambda s: s.instrumentation_scope.name == "gateway" and s.kind == SpanKind.SERVER, "gw")
        assert root.parent is None  # a new trace, started at the gateway
        service = only(recorded, lambda s: s.instrumentation_scope.name == "asset-service", "svc")
        assert parent_of(service) == span_id(only(recorded, lambda s: s.kind == SpanKind.CLIENT, "proxy"))


async def test_ingestion_message_continues_the_senders_trace(
    system: System, spans: InMemorySpanExporter, logs: JsonLines, bearer_token
) -> None:
    """asset-service's ingest consumer (gridcommons.ingest) continues a message's traceparent."""
    company = await system.company()
    token = await system.token({company: "operator"})
    r = await system.client.post("/api/assets", json=ASSET, headers={**bearer(token), "CompanyID": str(company)})
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    good = CloudEvent(
        source="/tests/tracing",
        type="org.gridcommons.ingest.asset-statuses",
        companyid=str(company),
        data={"statuses": [{"asset_id": asset_id, "status": "OFFLINE", "effective_at": "2026-07-01T08:00:00Z"}]},
    )
    bad = CloudEvent(source="/tests/tracing", type="x", companyid=str(company), data={"statuses": []})
    sent: dict[str, tuple[str, str]] = {}
    producer = make_producer(InfraSettings(), client_id="trace-test-ingest")
    await producer.start()
    try:
        for event in (good, bad):
            trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
            sent[event.id] = (trace_id, parent)
            headers = ingest_headers(bearer_token(company, "device")) + [
                ("ce_id", event.id.encode()),
                ("traceparent", f"00-{trace_id}-{parent}-01".encode()),
            ]
            await (await producer.send(STATUS_TOPIC, value=event.to_bytes(), key=asset_id.encode(), headers=headers))
    finally:
        await producer.stop()

    good_trace, good_parent = sent[good.id]
    handled = f"asset-service.statuses: handled event {good.id}"
    await eventually(lambda: handled in messages(logs.of_trace(good_trace)), timeout=60)
    consume = await eventually(lambda: [s for s in by_id(spans, good_trace) if s.kind == SpanKind.CONSUMER], timeout=10)
    assert parent_of(consume[0]) == good_parent and consume[0].name == f"{STATUS_TOPIC} process"
    assert consume[0].status.status_code != StatusCode.ERROR

    # A refused message: the dead-letter line and the span's error belong to its sender's trace too.
    bad_trace, bad_parent = sent[bad.id]
    await eventually(lambda: any("sent to" in m and ".dlq" in m for m in messages(logs.of_trace(bad_trace))), 60)
    [refused] = await eventually(lambda: [s for s in by_id(spans, bad_trace) if s.kind == SpanKind.CONSUMER], 10)
    assert parent_of(refused) == bad_parent and refused.status.status_code == StatusCode.ERROR
