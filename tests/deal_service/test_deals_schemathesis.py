# ruff: noqa: F811  (the fixture imported from test_deals_gateway is a test parameter)
"""Schemathesis over the deal operations of the merged document, through the served gateway in front of
the served deal-service, as the roles that call them: staff (operator, admin), a resident (member
linked to E001), the ingestion roles (device, operator). Valid requests first (the ingestion write
must reach 2xx), then generated ones, twice per operation and role: as generated, and with the codes
of the registered cluster and unit (so requests get past the guard). No 5xx; every response matches
the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import pytest
from deal_helpers import report
from gateway_edge.conftest import Edge
from test_deals_gateway import deal_edge, deal_world  # noqa: F401

from gridcommons.testing.contract import contract_checks, contract_operations

PREFIXES = ("/api/staff/deal", "/api/resident/deal", "/api/ingest/deals")
MAX_EXAMPLES = 10


@pytest.mark.contract
async def test_schemathesis_deal_operations(deal_edge: Edge) -> None:
    from hypothesis import HealthCheck, given, settings

    edge = deal_edge
    _, reg, h = await deal_world(edge)
    doc = (await edge.client.get("/openapi.json")).json()
    operations = contract_operations(doc, PREFIXES)
    assert len(operations) == 9, sorted(operations)
    checks = contract_checks()
    reached: dict[str, set[int]] = defaultdict(set)
    failures: list[str] = []

    def roles(path: str) -> dict[str, dict[str, str]]:
        if path.startswith("/api/staff"):
            return {"operator": h["operator"], "admin": h["admin"]}
        if path.startswith("/api/resident"):
            return {"member": h["member"]}
        return {"device": h["device"], "operator": h["operator"]}

    def codes(path: str) -> dict[str, str]:
        return reg.ccu("E001") if path.startswith("/api/resident") else reg.cc()

    def call(label: str, case: Any) -> Any:
        response = case.call(base_url=edge.url, timeout=20)
        reached[label].add(response.status_code)
        case.validate_response(response, checks=checks)
        return response

    # 1. valid requests: the write reaches 2xx, the reads answer the data
    t = int(time.time())
    deals = [report("st-1", cumulateAmountWh=1.25, reportTime=t), report("st-2", isMaster=True, reportTime=t)]
    valid: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("POST /api/ingest/deals", h["device"], {"body": {"deals": deals}}),
        ("GET /api/staff/deal/liveList", h["operator"], {"query": reg.cc()}),
        ("GET /api/staff/deal/list", h["admin"], {"query": {**reg.cc(), "formatType": "budo"}}),
        ("GET /api/staff/deal/datetimeRange", h["operator"], {"query": reg.cc()}),
        (
            "GET /api/staff/deal/sumOfCumulateAmountWhsByHour",
            h["operator"],
            {"query": {**reg.cc(), "timezone": "Europe/Berlin"}},
        ),
        ("GET /api/resident/deal/liveList", h["member"], {"query": {**reg.ccu("E001"), "formatType": "budo"}}),
        ("GET /api/resident/deal/list", h["member"], {"query": reg.ccu("E001")}),
        ("GET /api/resident/deal/datetimeRange", h["member"], {"query": reg.ccu("E001")}),
        (
            "GET /api/resident/deal/sumOfCumulateAmountWhsByHour",
            h["member"],
            {"query": {**reg.ccu("E001"), "timezone": "+0900"}},
        ),
    ]
    for label, headers, parts in valid:
        case = operations[label].Case(headers=headers, **parts)
        try:
            response = await asyncio.to_thread(call, label, case)
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text[:300]}"
            assert response.json() not in ([], {}), label
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
                case.query = {**(case.query or {}), **codes(path)}
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
    print("deal operations, statuses reached:\n" + "\n".join(f"  {k}: {sorted(v)}" for k, v in sorted(reached.items())))
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for v in reached.values() for s in v)
