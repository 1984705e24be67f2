# ruff: noqa: F811  (the fixture imported from test_monitoring_gateway is a test parameter)
"""Schemathesis over the monitoring operations of the merged document, through the served gateway in
front of the served monitoring-service, as the roles that call them: staff (operator, admin) and the
ingestion roles (device, operator). Valid requests first (the ingestion write must reach 2xx), then
generated ones, twice per operation and role: as generated, and with the codes of the registered
cluster (so requests get past the guard). No 5xx; every response matches the document (status,
content type, schema)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from gateway_edge.conftest import Edge
from monitoring_helpers import judge, log
from test_monitoring_gateway import monitoring_edge, monitoring_world  # noqa: F401

from gridcommons.testing.contract import contract_checks, contract_operations

PREFIXES = ("/api/staff/monitoring", "/api/monitoring", "/api/ingest/logs")
MAX_EXAMPLES = 10


@pytest.mark.contract
async def test_schemathesis_monitoring_operations(monitoring_edge: Edge) -> None:
    from hypothesis import HealthCheck, given, settings

    edge = monitoring_edge
    _, reg, h = await monitoring_world(edge)
    doc = (await edge.client.get("/openapi.json")).json()
    # the notification operations (also under /api/monitoring) have their own run: test_notifications_schemathesis
    operations = {
        label: op
        for label, op in contract_operations(doc, PREFIXES).items()
        if "/api/monitoring/notification-" not in label
    }
    assert len(operations) == 9, sorted(operations)
    checks = contract_checks()
    reached: dict[str, set[int]] = defaultdict(set)
    failures: list[str] = []

    def roles(path: str) -> dict[str, dict[str, str]]:
        if path.startswith("/api/ingest"):
            return {"device": h["device"], "operator": h["operator"]}
        return {"operator": h["operator"], "admin": h["admin"]}

    def call(label: str, case: Any) -> Any:
        response = case.call(base_url=edge.url, timeout=20)
        reached[label].add(response.status_code)
        case.validate_response(response, checks=checks)
        return response

    # 1. valid requests: the write reaches 2xx, the reads answer the data
    records = [log("apis-log", "SEVERE", "st-1"), log("apis-main", "INFO", "uri : /get", unit="E001")]
    valid: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("POST /api/ingest/logs", h["device"], {"body": {"logs": records}}),
        ("GET /api/monitoring/logs", h["operator"], {"query": {**reg.cc(), "loglevel": "SEVERE"}}),
        ("GET /api/staff/monitoring/failure/openList", h["operator"], {"query": reg.cc()}),
        (
            "GET /api/staff/monitoring/failure/list",
            h["admin"],
            {"query": {**reg.cc(), "datetimeFrom": "2020-01-01T00:00:00Z"}},
        ),
        ("GET /api/staff/monitoring/job/list", h["operator"], {"query": reg.cc()}),
        ("GET /api/staff/monitoring/job/activate", h["operator"], {"query": {**reg.cc(), "type": "apis_main_alive"}}),
        ("POST /api/staff/monitoring/job/activate", h["operator"], {"query": {**reg.cc(), "type": "apis_ccc_alive"}}),
        ("GET /api/staff/monitoring/job/deactivate", h["admin"], {"query": {**reg.cc(), "type": "apis_main_severe"}}),
        ("POST /api/staff/monitoring/job/deactivate", h["admin"], {"query": {**reg.cc(), "type": "apis_ccc_severe"}}),
    ]
    for label, headers, parts in valid:
        if label == "GET /api/staff/monitoring/failure/openList":
            await judge(edge.monitoring_app, reg, "apis_log_severe")  # type: ignore[attr-defined]
        case = operations[label].Case(headers=headers, **parts)
        try:
            response = await asyncio.to_thread(call, label, case)
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text[:300]}"
            assert response.content not in (b"[]", b"{}", b""), label
        except AssertionError as exc:
            failures.append(f"valid {label}: {str(exc)[:1500]}")

    # 2. generated requests, as generated and with the registered codes
    def fuzz(label: str, operation: Any, role: str, headers: dict[str, str], fix_codes: bool) -> None:
        path = label.split(" ", 1)[1]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            if fix_codes and not path.startswith("/api/ingest"):
                case.query = {**(case.query or {}), **reg.cc()}
            call(label, case)

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            failures.append(f"{label} as {role}{' (codes)' if fix_codes else ''}: {str(exc)[:1500]}")

    def run_all() -> None:
        for label, operation in operations.items():
            for role, headers in roles(label.split(" ", 1)[1]).items():
                for fix_codes in (False, True):
                    fuzz(label, operation, role, headers, fix_codes)

    await asyncio.to_thread(run_all)
    print(
        "monitoring operations, statuses reached:\n"
        + "\n".join(f"  {k}: {sorted(v)}" for k, v in sorted(reached.items()))
    )
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for v in reached.values() for s in v)
