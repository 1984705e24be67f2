# ruff: noqa: F811  (the fixture imported from test_notifications_gateway is a test parameter)
"""Schemathesis over the notification operations of the merged document, through the served gateway in
front of the served monitoring-service, as operator and admin (and a member, who is refused). Valid requests
first (the settings write must reach 2xx), then generated ones, twice per operation and role: as generated,
and with the registered community's code in the path. No 5xx; every response matches the document."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from gateway_edge.conftest import Edge
from notify_helpers import COMMUNITY
from test_notifications_gateway import notify_edge, notify_world  # noqa: F401

from gridcommons.testing.contract import contract_checks, contract_operations

PREFIXES = ("/api/monitoring/notification-settings", "/api/monitoring/notification-deliveries")
MAX_EXAMPLES = 15


@pytest.mark.contract
async def test_schemathesis_notification_operations(notify_edge: Edge) -> None:
    from hypothesis import HealthCheck, given, settings

    edge = notify_edge
    _, h = await notify_world(edge)
    doc = (await edge.client.get("/openapi.json")).json()
    operations = contract_operations(doc, PREFIXES)
    assert len(operations) == 6, sorted(operations)
    checks = contract_checks()
    reached: dict[str, set[int]] = defaultdict(set)
    failures: list[str] = []

    def call(label: str, case: Any) -> Any:
        response = case.call(base_url=edge.url, timeout=20)
        reached[label].add(response.status_code)
        case.validate_response(response, checks=checks)
        return response

    path = {"communityId": COMMUNITY}
    body = {
        "notifyTo": ["ops@example.com", "oncall@example.org"],
        "timeZone": "Europe/Paris",
        "webhook": {"url": "https://hooks.example.com/gc", "secret": "0123456789abcdef"},
    }
    valid: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        (
            "PUT /api/monitoring/notification-settings/{communityId}",
            h["operator"],
            {"path_parameters": path, "body": body},
        ),
        ("GET /api/monitoring/notification-settings/{communityId}", h["admin"], {"path_parameters": path}),
        ("GET /api/monitoring/notification-settings", h["operator"], {}),
        ("GET /api/monitoring/notification-deliveries/{communityId}", h["operator"], {"path_parameters": path}),
        ("DELETE /api/monitoring/notification-settings/{communityId}", h["admin"], {"path_parameters": path}),
    ]
    for label, headers, parts in valid:
        case = operations[label].Case(headers=headers, **parts)
        try:
            response = await asyncio.to_thread(call, label, case)
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text[:300]}"
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
            if fix_codes and "{communityId}" in label:
                case.path_parameters = {**(case.path_parameters or {}), **path}
            call(label, case)

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            failures.append(f"{label} as {role}{' (codes)' if fix_codes else ''}: {str(exc)[:1500]}")

    def run_all() -> None:
        for label, operation in operations.items():
            for role in ("operator", "admin", "member"):
                for fix_codes in (False, True):
                    fuzz(label, operation, role, h[role], fix_codes)

    await asyncio.to_thread(run_all)
    print(
        "notification operations, statuses reached:\n"
        + "\n".join(f"  {k}: {sorted(v)}" for k, v in sorted(reached.items()))
    )
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for v in reached.values() for s in v)
    assert 200 in reached["PUT /api/monitoring/notification-settings/{communityId}"]
