# ruff: noqa: F811  (the fixture imported from test_scenarios_gateway is a test parameter)
"""Schemathesis over the scenario operations of the merged document, through the served gateway in front
of the served community-service, as the roles that call them: staff (operator, admin), a resident
(member linked to a unit) and the resident's device (form credentials). Valid requests first (every
write must reach 2xx), then generated ones, twice per operation and role: as generated, and with the
unit codes of the resident's unit (so requests get past the guard). No 5xx; every response matches
the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from gateway_edge.conftest import Edge, bearer
from scenario_helpers import link_resident, make_registry
from test_scenarios_gateway import scenario_edge  # noqa: F401

from community_service.scenarios.examples import HIGH_PRIORITY, LOW_PRIORITY
from gridcommons.testing.contract import contract_checks, contract_operations
from gridcommons.testing.plugin import Stack

PREFIXES = ("/api/community/scenario", "/api/resident/scenario", "/api/misc/scenario")
MAX_EXAMPLES = 10
CODES = {"communityId": "c1", "clusterId": "k1", "unitId": "E001"}


@pytest.mark.contract
async def test_schemathesis_scenario_operations(scenario_edge: Edge, stack: Stack) -> None:
    from hypothesis import HealthCheck, given, settings

    edge = scenario_edge
    company = await edge.company()
    staff = {
        role: {**bearer(await edge.user({company: role})), "CompanyID": str(company)} for role in ("operator", "admin")
    }
    name, password, token = await edge.account({company: "member"})
    user_id = int((await edge.client.get("/auth/info", headers=bearer(token))).json()["id"])
    units = await make_registry(stack, company, {"c1": {"k1": ["E001", "E002"]}})
    await link_resident(stack, company, units["E001"].unit_id, user_id)
    member = {**bearer(token), "CompanyID": str(company)}
    credentials = {"account": name, "password": password}
    made = await edge.client.post(
        "/api/community/scenarios",
        json={"name": "BOUND", "data": HIGH_PRIORITY, "communityId": "c1"},
        headers=staff["operator"],
    )
    assert made.status_code == 201, made.text
    bound_id = made.json()["id"]

    doc = (await edge.client.get("/openapi.json")).json()
    operations = contract_operations(doc, PREFIXES)
    assert len(operations) == 12, sorted(operations)
    checks = contract_checks()
    reached: dict[str, set[int]] = defaultdict(set)
    failures: list[str] = []

    def roles(path: str) -> dict[str, dict[str, str]]:
        if path.startswith("/api/community"):
            return staff
        if path.startswith("/api/resident"):
            return {"member": member}
        return {"device": {}}

    def call(label: str, case: Any) -> Any:
        response = case.call(base_url=edge.url, timeout=20)
        reached[label].add(response.status_code)
        case.validate_response(response, checks=checks)
        return response

    # 1. valid requests: every write reaches 2xx
    valid: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("POST /api/community/scenarios", staff["operator"], {"body": {"name": "NEW", "data": LOW_PRIORITY}}),
        (
            "PATCH /api/community/scenarios/{scenario_id}",
            staff["admin"],
            {"path_parameters": {"scenario_id": bound_id}, "body": {"description": "d"}},
        ),
        ("POST /api/resident/scenario/choose", member, {"query": {**CODES, "scenarioId": str(bound_id)}}),
        ("GET /api/resident/scenario/choose", member, {"query": {**CODES}}),
        (
            "POST /api/misc/scenario/update",
            {},
            {
                "body": {**CODES, **credentials, "name": "OWN", "data": HIGH_PRIORITY},
                "media_type": "application/x-www-form-urlencoded",
            },
        ),
        (
            "POST /api/misc/scenario/currentData",
            {},
            {"body": {**CODES, **credentials}, "media_type": "application/x-www-form-urlencoded"},
        ),
        (
            "POST /api/community/scenarios/{scenario_id}/retire",
            staff["operator"],
            {"path_parameters": {"scenario_id": bound_id}},
        ),
    ]
    for label, headers, parts in valid:
        case = operations[label].Case(headers=headers, **parts)
        try:
            response = await asyncio.to_thread(call, label, case)
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text[:300]}"
        except AssertionError as exc:
            failures.append(f"valid {label}: {str(exc)[:1500]}")

    # 2. generated requests, as generated and with the resident's unit codes
    def fuzz(label: str, operation: Any, role: str, headers: dict[str, str], fix_codes: bool) -> None:
        path = label.split(" ", 1)[1]
        bound = {"scenario_id": bound_id} if "{scenario_id}" in path else None
        strategy = operation.as_strategy(path_parameters=bound) if bound else operation.as_strategy()

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            if path.startswith("/api/misc"):
                body = dict(case.body) if isinstance(case.body, dict) else {}
                case.body = {**body, **credentials, **(CODES if fix_codes else {})}
            elif fix_codes and path.startswith(("/api/resident", "/api/community/scenario-choices")):
                case.query = {**(case.query or {}), **CODES}
            call(label, case)

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            failures.append(f"{label} as {role}{' (unit codes)' if fix_codes else ''}: {str(exc)[:1500]}")

    def run_all() -> None:
        for label, operation in operations.items():
            for role, headers in roles(label.split(" ", 1)[1]).items():
                for fix_codes in (False, True):
                    fuzz(label, operation, role, headers, fix_codes)

    await asyncio.to_thread(run_all)
    print(
        "scenario operations, statuses reached:\n"
        + "\n".join(f"  {k}: {sorted(v)}" for k, v in sorted(reached.items()))
    )
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for v in reached.values() for s in v)
