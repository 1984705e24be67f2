"""Statuses the document promises, answered as documented: 405 with the path's methods in Allow,
413 over the body limit (per route), 409, 400 and 429 with their bodies."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import asyncpg

from gridcommons.testing.plugin import Stack

from .conftest import MAX_BODY, Edge, bearer

_codes = itertools.count(1)
PRICE = {
    "name": "PRICE_BASED",
    "floor_price": {"amount": 20, "unit": "EUR/MWh"},
    "strike_price": {"amount": "95.5", "unit": "EUR/MWh"},
}


async def test_405_allow_lists_every_method_of_the_path(edge: Edge) -> None:
    a = await edge.company()
    operator = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a)}
    body = {"code": "al", "name": "Allow", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    asset = (await edge.client.post("/api/assets", json=body, headers=operator)).json()["id"]
    # A proxied path: the asset-service has GET, PATCH and DELETE on it.
    for method in ("OPTIONS", "PUT", "POST"):
        r = await edge.client.request(method, f"/api/assets/{asset}", headers=operator)
        assert r.status_code == 405, (method, r.text)
        assert r.headers["allow"] == "DELETE, GET, PATCH" and r.json() == {"detail": "Method Not Allowed"}
    r = await edge.client.request("OPTIONS", "/api/assets", headers=operator)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    # The gateway's own paths.
    root = bearer(await edge.superuser_token())
    r = await edge.client.request("OPTIONS", "/api/gateway/companies", headers=root)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


BIG = "99999999999999999999.999999999999999999"  # the largest amount a quantity takes (20 + 18 digits)


def _instant(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")  # "...T10:00:00.000000+00:00"


async def _asset(edge: Edge, headers: dict[str, str]) -> str:
    code = "L" * 30 + str(next(_codes)).zfill(2)  # the longest code: the longest asset id
    body = {"code": code, "name": "Big", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    r = await edge.client.post("/api/assets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_the_largest_valid_batches_pass_and_one_byte_more_is_413(edge: Edge, migrated: Stack) -> None:
    """maxItems and the body limit agree: the largest batch the schema allows (every value at its
    longest) is accepted through the gateway; a body over the route's limit is the documented 413."""
    a = await edge.company()
    op = {**bearer(await edge.user({a: "operator"})), "CompanyID": str(a), "Content-Type": "application/json"}
    doc = (await edge.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    # 10,000 state snapshots (the schema's maxItems).
    snap_op = doc["paths"]["/api/state-snapshots"]["post"]
    ref = snap_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    max_items = schemas[ref]["properties"]["state_snapshots"]["maxItems"]
    assert max_items == 10_000
    asset = await _asset(edge, op)
    items = [
        {
            "asset_id": asset,
            "effective_at": _instant(t0 + i * timedelta(minutes=1)),
            "stored_energy": {"amount": BIG, "unit": "MWh"},
            "reading_quality": "SUBSTITUTED",
        }
        for i in range(max_items)
    ]
    body = json.dumps({"state_snapshots": items}).encode()
    assert len(body) > 1024 * 1024  # over the default limit
    r = await edge.client.post("/api/state-snapshots", content=body, headers=op)
    assert r.status_code == 200, r.text[:500]
    assert len(r.json()["state_snapshots"]) == max_items
    # Its events fit Kafka's default 1 MB message limit (one event of 10,000 rows would never publish).
    conn = await asyncpg.connect(migrated.database_url.replace("+asyncpg", ""))
    try:
        sizes = [
            row["size"]
            for row in await conn.fetch(
                "SELECT octet_length(payload::text) AS size FROM asset.outbox WHERE key = $1 AND topic = $2",
                asset,
                "assets.state-snapshot.v1",
            )
        ]
    finally:
        await conn.close()
    assert len(sizes) == max_items // 1000 and max(sizes) < 1_000_000, sizes
    limit = 4 * 1024 * 1024
    pad = b" " * (limit - len(body) + 1)  # valid JSON, one byte over the limit
    r = await edge.client.post("/api/state-snapshots", content=body[:-1] + pad + b"}", headers=op)
    assert r.status_code == 413 and isinstance(r.json()["detail"], str)
    assert "413" in snap_op["responses"]

    # 40,000 PoC limit periods on a site (the schema's maxItems), and the same on an inverter.
    site_body = {"name": "S", "code": "bigsite", "region": "DE", "delivery_area": "AMPN", "dispatch_mode": PRICE}
    site = (await edge.client.post("/api/sites", json=site_body, headers=op)).json()["id"]
    put_op = doc["paths"]["/api/sites/{site_id}/limits"]["put"]
    ref = put_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    max_periods = schemas[ref]["properties"]["limits"]["maxItems"]
    assert max_periods == 40_000
    q = timedelta(minutes=15)
    periods = [
        {
            "start_time": _instant(t0 + i * q),
            "end_time": _instant(t0 + (i + 1) * q),
            "max_import_from_grid": {"amount": BIG, "unit": "MW"},
            "max_export_to_grid": {"amount": BIG, "unit": "MW"},
        }
        for i in range(max_periods)
    ]
    body = json.dumps({"limits": periods}).encode()
    assert len(body) > 8 * 1024 * 1024
    r = await edge.client.put(f"/api/sites/{site}/limits", content=body, headers=op)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["rows"] == max_periods
    limit = 16 * 1024 * 1024
    r = await edge.client.put(f"/api/sites/{site}/limits", content=b" " * limit + b"{}", headers=op)
    assert r.status_code == 413 and isinstance(r.json()["detail"], str)
    assert "413" in put_op["responses"]

    # Routes without their own limit keep the default (here the test gateway's MAX_BODY).
    r = await edge.client.post("/api/forecasts", content=b" " * MAX_BODY + b"{}", headers=op)
    assert r.status_code == 413 and isinstance(r.json()["detail"], str)
    assert "413" in doc["paths"]["/api/forecasts"]["post"]["responses"]


def _json_error(spec: dict) -> bool:
    schema = spec.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/GatewayError")


async def test_every_operation_documents_its_error_statuses_with_bodies(edge: Edge) -> None:
    doc = (await edge.client.get("/openapi.json")).json()
    assert doc["components"]["schemas"]["GatewayError"]["properties"]["detail"]["type"] == "string"
    missing: list[str] = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            label = f"{method.upper()} {path}"
            if "requestBody" in op and not _json_error(responses.get("413", {})):
                missing.append(f"{label}: 413")
            if method in ("post", "put", "patch", "delete") and not _json_error(responses.get("409", {})):
                missing.append(f"{label}: 409")
            for code, spec in responses.items():
                if code.startswith("4") and code != "422" and not spec.get("content"):
                    if not (path.startswith("/api/core") and code == "400"):  # seed 004: empty CSRF 400
                        missing.append(f"{label}: {code} without a body")
                if not spec.get("description"):
                    missing.append(f"{label}: {code} without a description")
            # 429: the login throttles (the form doors check a password like a login) and the machine
            # clients' budgets, nowhere else.
            throttled = path in ("/auth/login", "/auth/token", "/api/core/login") or path.startswith(
                ("/api/ingest/", "/api/misc/")
            )
            if throttled and not _json_error(responses.get("429", {})):
                missing.append(f"{label}: 429")
            if not throttled and "429" in responses and not path.startswith("/auth"):
                missing.append(f"{label}: 429 documented where nothing answers it")
    assert not missing, missing
    # The seed 004 form doors say what a malformed form is.
    form_door = [op for p, item in doc["paths"].items() if p.startswith("/api/misc/scenario") for op in item.values()]
    assert all("Malformed form body" in op["responses"]["400"]["description"] for op in form_door)


async def test_409_and_429_answer_with_the_documented_body(edge: Edge) -> None:
    root = bearer(await edge.superuser_token())
    name = f"dup-{next(_codes)}-{id(edge)}"
    assert (await edge.client.post("/api/gateway/companies", json={"name": name}, headers=root)).status_code == 201
    r = await edge.client.post("/api/gateway/companies", json={"name": name}, headers=root)
    assert r.status_code == 409 and isinstance(r.json()["detail"], str) and set(r.json()) == {"detail"}

    # A machine client over its budget.
    a = await edge.company()
    device = {**bearer(await edge.machine_client(a, budget=1)), "Content-Type": "application/json"}
    statuses: list[int] = []
    for _ in range(3):
        r = await edge.client.post("/api/ingest/asset-statuses", content=b'{"statuses": []}', headers=device)
        statuses.append(r.status_code)
    assert statuses[0] == 422 and 429 in statuses, statuses
    r = await edge.client.post("/api/ingest/asset-statuses", content=b"{}", headers=device)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and isinstance(r.json()["detail"], str)

    # The login throttle (per username; a name nobody has, so no one else is locked out).
    ghost = {"username": f"ghost-{next(_codes)}-{id(edge)}", "password": "wrong-password"}
    seen: list[int] = []
    for _ in range(12):
        seen.append((await edge.client.post("/auth/login", json=ghost)).status_code)
    assert seen[0] == 400 and seen[-1] == 429, seen
    r = await edge.client.post("/auth/token", data={"grant_type": "password", **ghost})
    assert r.status_code == 429 and isinstance(r.json()["detail"], str) and "retry-after" in r.headers
