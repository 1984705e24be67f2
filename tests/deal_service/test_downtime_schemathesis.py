# ruff: noqa: F811  (the fixture imported from test_deals_gateway is a test parameter)
"""Schemathesis over the downtime operations of the merged document, through the served gateway in front
of the served deal-service, as staff (operator, admin). Valid requests first (each answers data), then
generated ones, as generated and with the codes of a registered cluster that has downtime. No 5xx;
every response matches the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from downtime_helpers import at
from gateway_edge.conftest import Edge
from test_deals_gateway import deal_edge  # noqa: F401
from test_downtime_gateway import _world

from gridcommons.testing.contract import contract_checks, contract_operations

PREFIXES = ("/api/staff/downtime",)
MAX_EXAMPLES = 15


@pytest.mark.contract
async def test_schemathesis_downtime_operations(deal_edge: Edge) -> None:
    from hypothesis import HealthCheck, given, settings

    edge = deal_edge
    _, cl, h = await _world(edge)
    doc = (await edge.client.get("/openapi.json")).json()
    operations = contract_operations(doc, PREFIXES)
    assert len(operations) == 3, sorted(operations)
    checks = contract_checks()
    reached: dict[str, set[int]] = defaultdict(set)
    failures: list[str] = []
    staff = {"operator": h["operator"], "admin": h["admin"]}

    def call(label: str, case: Any) -> Any:
        response = case.call(base_url=edge.url, timeout=20)
        reached[label].add(response.status_code)
        case.validate_response(response, checks=checks)
        return response

    window = {"datetimeFrom": at(0).isoformat(), "datetimeTo": at(3600).isoformat()}
    valid = [
        ("GET /api/staff/downtime/unitIdList", {**cl.cc(), **window}),
        ("GET /api/staff/downtime/list", {**cl.cc(), "unitId": "G1"}),
        ("GET /api/staff/downtime/availability", {**cl.cc(), **window}),
    ]
    for label, query in valid:
        case = operations[label].Case(headers=h["operator"], query=query)
        try:
            response = await asyncio.to_thread(call, label, case)
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text[:300]}"
            assert response.json() not in ([], {}), label
        except AssertionError as exc:
            failures.append(f"valid {label}: {str(exc)[:1500]}")

    def fuzz(label: str, operation: Any, role: str, headers: dict[str, str], fix_codes: bool) -> None:
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
            if fix_codes:
                case.query = {**(case.query or {}), **cl.cc()}
            call(label, case)

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            failures.append(f"{label} as {role}{' (codes)' if fix_codes else ''}: {str(exc)[:1500]}")

    def run_all() -> None:
        for label, operation in operations.items():
            for role, headers in staff.items():
                for fix_codes in (False, True):
                    fuzz(label, operation, role, headers, fix_codes)

    await asyncio.to_thread(run_all)
    print(
        "downtime operations, statuses reached:\n"
        + "\n".join(f"  {k}: {sorted(v)}" for k, v in sorted(reached.items()))
    )
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for v in reached.values() for s in v)
