# ruff: noqa: F811  (the fixtures imported from scenario_helpers are test parameters)
"""availableList against the visibility rule's reference (``visibility.is_visible``): random scenario
scopes (global, community, cluster, unit; some retired) × every unit of a small registry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_helpers import (
    UnitRow,
    connect,
    link_resident,
    make_registry,
    new_user_id,
    scenario_app,  # noqa: F401
    scenario_client,  # noqa: F401
)

from community_service.scenarios.examples import LOW_PRIORITY
from community_service.scenarios.visibility import Scope, UnitPlace, is_visible
from gridcommons.testing.plugin import Stack

LAYOUT = {"a": {"x": ["U1", "U2"], "y": ["U3", "U4"]}, "b": {"x": ["U5", "U6"], "z": ["U7", "U8"]}}


class Registry:
    def __init__(self, company_id: int, units: dict[str, UnitRow], headers: dict[str, str]):
        self.company_id = company_id
        self.units = units
        self.headers = headers
        communities = {(u.community, u.community_id) for u in units.values()}
        clusters = {(u.community_id, u.cluster_id) for u in units.values()}
        # every scope a scenario may have: global, each community, each cluster, each unit
        self.scopes = (
            [Scope(None, None, None)]
            + [Scope(c, None, None) for _, c in sorted(communities)]
            + [Scope(c, k, None) for c, k in sorted(clusters)]
            + [Scope(u.community_id, u.cluster_id, u.unit_id) for u in units.values()]
        )


@pytest.fixture
async def registry(stack: Stack, internal_headers: Any, company_id: int) -> Registry:
    units = await make_registry(stack, company_id, LAYOUT)
    resident = new_user_id()
    for unit in units.values():
        await link_resident(stack, company_id, unit.unit_id, resident)
    # another company's global scenario: never visible here
    other = company_id + 500_000
    conn = await connect(stack)
    try:
        await conn.execute(
            "INSERT INTO community.scenarios (company_id, name, data) VALUES ($1, 'OTHER', $2)", other, LOW_PRIORITY
        )
    finally:
        await conn.close()
    return Registry(company_id, units, internal_headers(company_id, "member", subject=str(resident)))


# (index into Registry.scopes, retired)
scenarios_strategy = st.lists(st.tuples(st.integers(0, 14), st.booleans()), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=scenarios_strategy)
async def test_available_list_matches_the_reference(
    stack: Stack, scenario_client: httpx.AsyncClient, registry: Registry, drawn: list[tuple[int, bool]]
) -> None:
    conn = await connect(stack)
    try:
        await conn.execute("DELETE FROM community.scenarios WHERE company_id = $1", registry.company_id)
        rows = []
        for i, (scope_index, retired) in enumerate(drawn):
            scope = registry.scopes[scope_index]
            scenario_id = await conn.fetchval(
                "INSERT INTO community.scenarios (company_id, community_id, cluster_id, unit_id, name, data, retired_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END) RETURNING id",
                registry.company_id,
                scope.community_id,
                scope.cluster_id,
                scope.unit_id,
                f"s{i:02d}",
                LOW_PRIORITY,
                retired,
            )
            rows.append((scenario_id, scope, retired))
    finally:
        await conn.close()
    for unit in registry.units.values():
        place = UnitPlace(unit.community_id, unit.cluster_id, unit.unit_id)
        expected = [sid for sid, scope, retired in rows if not retired and is_visible(scope, place)]
        r = await scenario_client.get(
            "/api/resident/scenario/availableList", params=unit.params, headers=registry.headers
        )
        assert r.status_code == 200, r.text
        assert [item["id"] for item in r.json()] == expected, (unit.unit, rows)


def test_reference_rule() -> None:
    unit = UnitPlace(1, 10, 100)
    assert is_visible(Scope(None, None, None), unit)
    assert is_visible(Scope(1, None, None), unit) and not is_visible(Scope(2, None, None), unit)
    assert is_visible(Scope(1, 10, None), unit) and not is_visible(Scope(1, 11, None), unit)
    assert is_visible(Scope(1, 10, 100), unit) and not is_visible(Scope(1, 10, 101), unit)
    # patterns outside the four are never visible
    assert not is_visible(Scope(None, 10, None), unit)
    assert not is_visible(Scope(None, None, 100), unit)
    assert not is_visible(Scope(1, None, 100), unit)
