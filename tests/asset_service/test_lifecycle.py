"""Lifecycle: one endpoint per adjacent transition, 409 for everything else, safe under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from gridcommons.testing.plugin import Stack

BODY = {"code": "lc", "name": "Lifecycle", "type": "BESS", "region": "PL", "delivery_area": "PSE", "provider": "EBX"}
ACTIONS = ("commission", "go-live", "suspend", "resume", "decommission")
ALLOWED = {
    ("DRAFT", "commission"): "COMMISSIONING",
    ("COMMISSIONING", "go-live"): "LIVE",
    ("LIVE", "suspend"): "SUSPENDED",
    ("SUSPENDED", "resume"): "LIVE",
    ("LIVE", "decommission"): "DECOMMISSIONED",
}
# the actions that bring a fresh asset into each lifecycle
PATH_TO = {
    "DRAFT": [],
    "COMMISSIONING": ["commission"],
    "LIVE": ["commission", "go-live"],
    "SUSPENDED": ["commission", "go-live", "suspend"],
    "DECOMMISSIONED": ["commission", "go-live", "decommission"],
}


async def lifecycle_events(stack: Stack, company_id: int) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT topic, key, payload FROM asset.outbox WHERE payload->>'companyid' = $1 "
            "AND payload->>'type' = 'org.gridcommons.assets.asset.lifecycle-changed' ORDER BY seq",
            str(company_id),
        )
    finally:
        await conn.close()
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]


async def create(client: httpx.AsyncClient, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    r = await client.post("/api/assets", json={**BODY, **over}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def act(client: httpx.AsyncClient, headers: dict[str, str], asset_id: str, action: str) -> httpx.Response:
    return await client.post(f"/api/assets/{asset_id}/actions/{action}", headers=headers)


async def test_full_lifecycle(asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack) -> None:
    op = internal_headers(company_id, "operator")
    asset = await create(asset_client, op)
    seen = [asset["lifecycle"]]
    for action in ("commission", "go-live", "suspend", "resume", "decommission"):
        r = await act(asset_client, op, asset["id"], action)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["updated_at"] >= asset["updated_at"] and body["created_at"] == asset["created_at"]
        seen.append(body["lifecycle"])
        if action == "go-live":
            assert body["go_live_date"] == datetime.now(UTC).date().isoformat()
    assert seen == ["DRAFT", "COMMISSIONING", "LIVE", "SUSPENDED", "LIVE", "DECOMMISSIONED"]
    got = await asset_client.get(f"/api/assets/{asset['id']}", headers=op)
    assert got.json()["lifecycle"] == "DECOMMISSIONED"

    events = await lifecycle_events(stack, company_id)
    assert [(e["data"]["action"], e["data"]["from"], e["data"]["to"]) for e in events] == [
        ("commission", "DRAFT", "COMMISSIONING"),
        ("go-live", "COMMISSIONING", "LIVE"),
        ("suspend", "LIVE", "SUSPENDED"),
        ("resume", "SUSPENDED", "LIVE"),
        ("decommission", "LIVE", "DECOMMISSIONED"),
    ]
    assert {e["topic"] for e in events} == {"assets.asset.v1"} and {e["key"] for e in events} == {asset["id"]}
    assert events[-1]["data"]["asset"] == got.json()


async def test_go_live_keeps_a_preset_date(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "admin")
    asset = await create(asset_client, op)
    r = await asset_client.patch(f"/api/assets/{asset['id']}", json={"go_live_date": "2025-01-15"}, headers=op)
    assert r.status_code == 200
    await act(asset_client, op, asset["id"], "commission")
    r = await act(asset_client, op, asset["id"], "go-live")
    assert r.json()["lifecycle"] == "LIVE" and r.json()["go_live_date"] == "2025-01-15"


@pytest.mark.parametrize("state", list(PATH_TO))
async def test_every_transition_from_every_state(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, state: str, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    for action in ACTIONS:
        asset = await create(asset_client, op)
        for step in PATH_TO[state]:
            assert (await act(asset_client, op, asset["id"], step)).status_code == 200
        before = (await asset_client.get(f"/api/assets/{asset['id']}", headers=op)).json()
        n_events = len(await lifecycle_events(stack, company_id))
        r = await act(asset_client, op, asset["id"], action)
        after = (await asset_client.get(f"/api/assets/{asset['id']}", headers=op)).json()
        if (state, action) in ALLOWED:
            assert r.status_code == 200, r.text
            assert after["lifecycle"] == ALLOWED[(state, action)] and r.json() == after
            assert len(await lifecycle_events(stack, company_id)) == n_events + 1
        else:
            assert r.status_code == 409, (state, action, r.text)
            assert r.json()["detail"] == (
                f"Cannot {action} asset {asset['id']}: it is {state}, {action} requires "
                f"{next(s for (s, a) in ALLOWED if a == action)}"
            )
            assert after == before  # nothing changed, not even updated_at
            assert len(await lifecycle_events(stack, company_id)) == n_events


async def test_concurrent_transitions_one_wins(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await create(asset_client, op)
    results = await asyncio.gather(*(act(asset_client, op, asset["id"], "commission") for _ in range(8)))
    assert sorted(r.status_code for r in results) == [200] + [409] * 7
    live = await act(asset_client, op, asset["id"], "go-live")
    assert live.status_code == 200
    # suspend and decommission race from LIVE: exactly one of them applies
    results = await asyncio.gather(*(act(asset_client, op, asset["id"], a) for a in ["suspend", "decommission"] * 4))
    assert sorted(r.status_code for r in results) == [200] + [409] * 7
    winner = next(r for r in results if r.status_code == 200).json()["lifecycle"]
    final = (await asset_client.get(f"/api/assets/{asset['id']}", headers=op)).json()
    assert final["lifecycle"] == winner
    assert len(await lifecycle_events(stack, company_id)) == 3


async def test_unknown_asset_tenant_and_roles(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await create(asset_client, op)
    other = internal_headers(company_id + 500_000, "admin")
    for action in ACTIONS:
        assert (await act(asset_client, op, "PL_PSE_NOPE_1", action)).status_code == 404
        assert (await act(asset_client, other, asset["id"], action)).status_code == 404
        assert (await act(asset_client, internal_headers(company_id, "member"), asset["id"], action)).status_code == 403
        assert (await act(asset_client, internal_headers(company_id, "device"), asset["id"], action)).status_code == 403
    assert (await act(asset_client, op, asset["id"], "explode")).status_code in (404, 405)
    assert (await asset_client.get(f"/api/assets/{asset['id']}", headers=op)).json()["lifecycle"] == "DRAFT"
