"""Span export is off unless the standard OpenTelemetry variables ask for it (gridcommons.tracing)."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from gridcommons import tracing

VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_off_by_default_yet_ids_are_made() -> None:
    assert tracing.exporter_from_env() is None
    provider = tracing.provider_from_env("svc")
    assert provider.sampler is ALWAYS_OFF
    previous = tracing.use_provider(provider)
    try:
        with tracing.tracer("svc").start_as_current_span("work") as span:
            assert not span.is_recording()
            trace_id = tracing.trace_id_hex()
            headers = tracing.current_headers()
        assert trace_id is not None and trace_id != "0" * 32
        version, sent_trace, parent, flags = headers["traceparent"].split("-")
        assert (version, sent_trace, parent) == ("00", trace_id, f"{span.get_span_context().span_id:016x}")
        assert int(flags, 16) & 1 == 0  # not sampled: nothing recorded downstream either
    finally:
        tracing.use_provider(previous)


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, OTLPSpanExporter),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, OTLPSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, OTLPSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "console"}, ConsoleSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, None),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, None),
    ],
)
def test_exporter_from_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], exporter: type | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = tracing.exporter_from_env()
    if exporter is None:
        assert found is None
    else:
        assert isinstance(found, exporter)
        found.shutdown()
    provider = tracing.provider_from_env("svc")
    assert (provider.sampler is ALWAYS_OFF) == (exporter is None)
    provider.shutdown()


@pytest.mark.parametrize(
    "value",
    ["", "garbage", f"00-{'0' * 32}-{'1' * 16}-01", f"00-{'a' * 32}-{'0' * 16}-01", f"ff-{'a' * 32}-{'1' * 16}-01"],
)
def test_invalid_traceparent_gives_a_new_trace(value: str) -> None:
    with tracing.tracer("svc").start_as_current_span("work", context=tracing.context_from(value)):
        trace_id = tracing.trace_id_hex()
    assert trace_id is not None and trace_id not in ("0" * 32, "a" * 32)
