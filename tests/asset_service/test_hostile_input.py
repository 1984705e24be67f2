"""Hostile input and races end in a clean 4xx, never a 500: non-finite numbers, bounded free-form JSON,
strict ISO instants and dates, and writes racing a DELETE of the asset (or site, or inverter) they name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from asset_helpers import create_asset
from asset_helpers import iso as z

from gridcommons.testing.plugin import Stack

JSON = {"content-type": "application/json"}
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
Q = timedelta(minutes=15)
SAFETY_NET = "A referenced resource does not exist (it may have been deleted meanwhile)"


def asset_body(code: str) -> dict[str, str]:
    return {"code": code, "name": code, "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}


def status_body(asset_id: str, attributes: Any = None, at: Any = None) -> dict[str, Any]:
    reason = {"category": "OTHER", "attributes": {} if attributes is None else attributes}
    return {
        "statuses": [{"asset_id": asset_id, "status": "AVAILABLE", "effective_at": at or z(T0), "reasons": [reason]}]
    }


# ---------------------------------------------------------------- non-finite numbers


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_create_asset_with_a_non_finite_number_is_a_422(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, token: str
) -> None:
    """Was a 500: the 422 handler crashed rendering the echoed NaN."""
    op = internal_headers(company_id, "operator")
    r = await asset_client.post("/api/assets", content=f'{{"code": {token}}}'.encode(), headers={**op, **JSON})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["input"] == token
    r = await asset_client.get("/api/assets", headers=op)
    assert r.status_code == 200 and r.json()["assets"] == []


async def test_lone_surrogate_in_an_asset_field_is_a_422(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    body = (
        b'{"code": "x", "name": "\\ud800", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}'
    )
    r = await asset_client.post("/api/assets", content=body, headers={**op, **JSON})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["input"] == "\\ud800"


# ---------------------------------------------------------------- free-form JSON (status reason attributes)


def nested(levels: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(levels - 1):
        out = {"k": out}
    return out


async def test_status_attributes_are_bounded_and_finite(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    device = internal_headers(company_id, "device")
    asset = await create_asset(asset_client, op, asset_body("attr"))
    url = "/api/ingest/asset-statuses"

    # Refused, nothing stored: NaN (was stored as null), too deep, too many keys, too big, a decimal a
    # double cannot keep (was rounded silently).
    raw_refusals = [
        b'{"v": NaN}',
        b'{"v": [1, -Infinity]}',
        b'{"v": 0.12345678901234567890123}',
        b'{"v": 123456789012345678901234567890.5}',
    ]
    for raw in raw_refusals:
        body = (
            b'{"statuses": [{"asset_id": "%s", "status": "AVAILABLE", "effective_at": "%s", '
            b'"reasons": [{"category": "OTHER", "attributes": %s}]}]}' % (asset.encode(), z(T0).encode(), raw)
        )
        r = await asset_client.post(url, content=body, headers={**device, **JSON})
        assert r.status_code == 422, (raw, r.text)
    for attributes, msg in [
        (nested(9), "nested deeper than 8 levels"),
        ({"a": {str(i): i for i in range(65)}}, "more than 64 keys"),
        ({"blob": "x" * 16_400}, "larger than 16384 bytes"),
    ]:
        r = await asset_client.post(url, json=status_body(asset, attributes), headers=device)
        assert r.status_code == 422, r.text
        assert msg in r.json()["detail"][0]["msg"]
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        stored = await conn.fetchval("SELECT count(*) FROM asset.asset_statuses WHERE company_id = $1", company_id)
    finally:
        await conn.close()
    assert stored == 0

    # Accepted and kept exactly: the limits themselves, big integers, doubles as written.
    attributes = {
        "deep": nested(7),  # with the attributes object itself: 8 levels
        "keys": {str(i): i for i in range(64)},
        "big": 123456789012345678901234567890,
        "ratio": 0.1,
        "small": 1.5e-300,
        "text": "NaN",
    }
    r = await asset_client.post(url, json=status_body(asset, attributes), headers=device)
    assert r.status_code == 200, r.text
    got = (await asset_client.get(f"/api/assets/{asset}/status", headers=op)).json()
    assert got["reasons"][0]["attributes"] == attributes


# ---------------------------------------------------------------- instants and dates


async def test_instants_are_iso_text_to_the_microsecond(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    device = internal_headers(company_id, "device")
    asset = await create_asset(asset_client, op, asset_body("inst"))
    for at in (1777622400, 1777622400.5, "1777622400", "2026-05-01T08:00:00.000000001Z", "2026-05-01"):
        r = await asset_client.post("/api/ingest/asset-statuses", json=status_body(asset, at=at), headers=device)
        assert r.status_code == 422, (at, r.text)
    # A quarter-hour field: 08:00:00.000000001 is not 08:00 (pydantic would drop the nanosecond).
    entry = {"asset_id": asset, "start_time": "2026-05-01T08:00:00.000000001Z", "end_time": z(T0 + Q)}
    r = await asset_client.patch(
        "/api/limits", json={"limits": [{**entry, "source": "OPERATIONS", "trading_locked": True}]}, headers=op
    )
    assert r.status_code == 422, r.text
    recurrent = {"asset_id": asset, "start_time": "08:00:00.0000001", "end_time": "09:00", "recurrent": True}
    recurrent |= {"valid_from": "2026-05-01", "valid_until": "2026-05-31", "source": "OPERATIONS"}
    r = await asset_client.patch("/api/limits", json={"limits": [{**recurrent, "trading_locked": True}]}, headers=op)
    assert r.status_code == 422, r.text
    r = await asset_client.patch(
        "/api/limits", json={"limits": [{**recurrent, "valid_from": 20260501, "trading_locked": True}]}, headers=op
    )
    assert r.status_code == 422, r.text
    # Query instants: epoch seconds are refused too.
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": asset, "from": "1777622400"}, headers=op)
    assert r.status_code == 422, r.text
    # Microseconds and trailing zeros are fine.
    r = await asset_client.post(
        "/api/ingest/asset-statuses",
        json=status_body(asset, at="2026-05-01T08:00:00.123456000Z"),
        headers=device,
    )
    assert r.status_code == 200, r.text
    got = (await asset_client.get(f"/api/assets/{asset}/status", headers=op)).json()
    assert got["effective_at"] == "2026-05-01T08:00:00.123456Z"


@pytest.mark.parametrize("value", ["1899-12-31", "2201-01-01", "0001-01-01", 20260501, "2026-05-01T00:00:00Z"])
async def test_go_live_date_is_a_real_world_date(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, value: Any
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await create_asset(asset_client, op, asset_body("golive"))
    r = await asset_client.patch(f"/api/assets/{asset}", json={"go_live_date": value}, headers=op)
    assert r.status_code == 422, r.text
    assert (await asset_client.get(f"/api/assets/{asset}", headers=op)).json()["go_live_date"] is None
    for ok in ("1900-01-01", "2200-12-31"):
        r = await asset_client.patch(f"/api/assets/{asset}", json={"go_live_date": ok}, headers=op)
        assert r.status_code == 200 and r.json()["go_live_date"] == ok


async def test_delivery_day_query_is_a_real_world_date(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    member = internal_headers(company_id, "member")
    for day in ("0001-01-01", "9999-12-31", "20260501"):
        r = await asset_client.get("/api/dispatches", params={"asset_ids": "A", "delivery_day": day}, headers=member)
        assert r.status_code == 422, (day, r.text)
    r = await asset_client.get(
        "/api/dispatches", params={"asset_ids": "A", "delivery_day": "2026-05-01"}, headers=member
    )
    assert r.status_code == 200


# ---------------------------------------------------------------- writes racing a DELETE


async def _orphans(stack: Stack, company_id: int) -> dict[str, int]:
    """Rows of the company that name an asset / site / inverter that no longer exists (must be none)."""
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        out = {}
        for table, col, parent in [
            ("asset_statuses", "asset_id", "assets"),
            ("state_snapshots", "asset_id", "assets"),
            ("technical_specs", "asset_id", "assets"),
            ("site_inverter_assets", "asset_id", "assets"),
            ("site_inverters", "site_id", "sites"),
            ("site_poc_limits", "site_id", "sites"),
        ]:
            out[table] = await conn.fetchval(
                f"SELECT count(*) FROM asset.{table} c WHERE c.company_id = $1 AND NOT EXISTS "
                f"(SELECT 1 FROM asset.{parent} p WHERE p.company_id = c.company_id AND p.id = c.{col})",
                company_id,
            )
        return out
    finally:
        await conn.close()


def _clean(r: httpx.Response, allowed: tuple[int, ...]) -> None:
    assert r.status_code in allowed, (r.request.method, r.request.url.path, r.status_code, r.text)
    assert SAFETY_NET not in r.text  # the domain's own 404/422, not the kernel's safety net


async def test_writes_racing_an_asset_delete_are_clean(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    """DELETE an asset while statuses, snapshots, specs and an inverter are written for it: each write
    either commits first (and the delete cascades) or finds no asset (404/422); never a 500 (was: a
    foreign-key violation surfaced as a 500)."""
    op = internal_headers(company_id, "operator")
    device = internal_headers(company_id, "device")
    r = await asset_client.post(
        "/api/sites",
        json={
            "name": "S",
            "code": "race",
            "region": "DE",
            "delivery_area": "AMPN",
            "dispatch_mode": {"name": "MANUAL"},
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    for round_ in range(12):
        asset = await create_asset(asset_client, op, asset_body(f"race{round_}"))
        snapshot = {"asset_id": asset, "effective_at": z(T0), "stored_energy": {"amount": "1", "unit": "MWh"}}
        spec = {
            "asset_id": asset,
            "valid_from": z(T0 + round_ * Q),
            "rated_power": {"amount": "5", "unit": "MW"},
        }
        inverter = {
            "rated_power": {"amount": 5, "unit": "MW"},
            "charge_efficiency": "0.9",
            "discharge_efficiency": "0.9",
            "asset_ids": [asset],
        }
        writes = [
            asset_client.post("/api/ingest/asset-statuses", json=status_body(asset), headers=device),
            asset_client.post("/api/state-snapshots", json={"state_snapshots": [snapshot]}, headers=op),
            asset_client.put("/api/specs", json=spec, headers=op),
            asset_client.post(f"/api/sites/{site}/inverters", json=inverter, headers=op),
        ]
        # The delete goes first in some rounds, last in others, so it lands at different points.
        ops = [asset_client.delete(f"/api/assets/{asset}", headers=op), *writes]
        if round_ % 2:
            ops.reverse()
        results = await asyncio.gather(*ops)
        deleted = results[0] if round_ % 2 == 0 else results[-1]
        _clean(deleted, (204,))
        for r in results[1:] if round_ % 2 == 0 else results[:-1]:
            _clean(r, (200, 201, 404, 422))
    assert await _orphans(stack, company_id) == {
        "asset_statuses": 0,
        "state_snapshots": 0,
        "technical_specs": 0,
        "site_inverter_assets": 0,
        "site_inverters": 0,
        "site_poc_limits": 0,
    }


async def test_limits_racing_a_site_or_inverter_delete_are_clean(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    limits = {
        "limits": [{"start_time": z(T0), "end_time": z(T0 + Q), "max_import_from_grid": {"amount": 1, "unit": "MW"}}]
    }
    for round_ in range(12):
        r = await asset_client.post(
            "/api/sites",
            json={
                "name": "S",
                "code": f"rs{round_}",
                "region": "DE",
                "delivery_area": "AMPN",
                "dispatch_mode": {"name": "MANUAL"},
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        site = r.json()["id"]
        r = await asset_client.post(
            f"/api/sites/{site}/inverters",
            json={
                "rated_power": {"amount": 5, "unit": "MW"},
                "charge_efficiency": "0.9",
                "discharge_efficiency": "0.9",
                "asset_ids": [await create_asset(asset_client, op, asset_body(f"rsa{round_}"))],
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        inverter = r.json()["id"]
        ops = [
            asset_client.put(f"/api/sites/{site}/limits", json=limits, headers=op),
            asset_client.put(f"/api/sites/{site}/inverters/{inverter}/limits", json=limits, headers=op),
        ]
        delete = asset_client.delete(
            f"/api/sites/{site}" if round_ % 2 else f"/api/sites/{site}/inverters/{inverter}", headers=op
        )
        results = await asyncio.gather(delete, *ops) if round_ % 3 else await asyncio.gather(*ops, delete)
        for r in results:
            _clean(r, (200, 204, 404))
    orphans = await _orphans(stack, company_id)
    assert orphans["site_poc_limits"] == 0 and orphans["site_inverters"] == 0
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        dangling = await conn.fetchval(
            "SELECT count(*) FROM asset.site_inverter_limits c WHERE c.company_id = $1 AND NOT EXISTS "
            "(SELECT 1 FROM asset.site_inverters p WHERE p.company_id = c.company_id AND p.id = c.inverter_id)",
            company_id,
        )
    finally:
        await conn.close()
    assert dangling == 0
