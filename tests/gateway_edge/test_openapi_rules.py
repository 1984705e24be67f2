"""The merged OpenAPI document states the rules the servers enforce: units as enums, decimal-string
patterns, ranges, id lists that cannot be empty, enums for ``expand`` and ``grant_type``, e-mail
formats, and null only where null is accepted (checked against the live servers)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .conftest import Edge, bearer


def _schema(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def _nullable(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(p.get("type") == "null" for p in prop.get("anyOf", []))


async def _doc(edge: Edge) -> dict[str, Any]:
    r = await edge.client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_quantities_units_and_amounts(edge: Edge) -> None:
    doc = await _doc(edge)
    schemas = doc["components"]["schemas"]
    assert not [n for n in schemas if n.endswith(("-Input", "-Output"))]
    assert [t for t, n in Counter(s.get("title", k) for k, s in schemas.items()).items() if n > 1] == []
    units = {
        "Power": "MW",
        "NonNegativePower": "MW",
        "Energy": "MWh",
        "NonNegativeEnergy": "MWh",
        "Price": "EUR/MWh",
    }
    for name, unit in units.items():
        props = schemas[name]["properties"]
        assert props["unit"]["enum"] == [unit], name
        assert props["amount"]["type"] == "string", name
    signed = re.compile(schemas["Power"]["properties"]["amount"]["pattern"])
    unsigned = re.compile(schemas["NonNegativeEnergy"]["properties"]["amount"]["pattern"])
    assert signed.match("-2.5") and signed.match("10") and not signed.match("1e3")
    assert unsigned.match("2.5") and not unsigned.match("-2.5")
    # Fields the server refuses below zero say so; signed positions stay signed.
    reservation = schemas["ReservationIn"]["properties"]
    assert reservation["energy_buffer_low"]["$ref"].endswith("/NonNegativeEnergy")
    assert reservation["power"]["$ref"].endswith("/Power")
    snapshot = schemas["StateSnapshotIn"]["properties"]
    assert snapshot["stored_energy"]["$ref"].endswith("/NonNegativeEnergy")
    efficiency = re.compile(schemas["CreateSiteInverterRequest"]["properties"]["charge_efficiency"]["pattern"])
    assert [bool(efficiency.match(v)) for v in ("0.95", "1", "1.00", "0", "0.0", "1.01", "-0.5")] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


async def test_id_lists_enums_and_formats(edge: Edge) -> None:
    doc = await _doc(edge)
    params = [
        (path, p)
        for path, item in doc["paths"].items()
        for op in item.values()
        for p in op.get("parameters", [])
        if "name" in p
    ]
    id_lists = [(path, p["schema"]) for path, p in params if p["name"] == "asset_ids"]
    assert len(id_lists) >= 6
    for path, schema in id_lists:
        assert schema["minItems"] == 1 and schema["items"]["minLength"] == 1, path
    inverter = doc["components"]["schemas"]["CreateSiteInverterRequest"]["properties"]["asset_ids"]
    assert inverter["minItems"] == 1 and inverter["uniqueItems"] is True and inverter["items"]["maxLength"] == 128
    [expand] = [p["schema"] for path, p in params if p["name"] == "expand" and path == "/api/sites"]
    assert expand["enum"] == ["assets"]
    token_form = _schema(
        doc,
        doc["paths"]["/auth/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"],
    )
    assert token_form["properties"]["grant_type"]["enum"] == ["password", "client_credentials", "refresh_token"]
    register = _schema(
        doc, doc["paths"]["/auth/register"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert register["properties"]["email"]["format"] == "email"

    # The server agrees: values outside the enums are refused, the listed ones accepted.
    company = await edge.company()
    token = await edge.user({company: "operator"})
    headers = {**bearer(token), "CompanyID": str(company)}
    assert (await edge.client.get("/api/sites", params={"expand": "assets"}, headers=headers)).status_code == 200
    assert (await edge.client.get("/api/sites", params={"expand": "owners"}, headers=headers)).status_code == 422
    r = await edge.client.post("/auth/token", data={"grant_type": "implicit"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


async def test_null_is_documented_exactly_where_it_is_accepted(edge: Edge) -> None:
    """Every property of the asset, site, inverter and spec update bodies: null documented <=> null accepted."""
    doc = await _doc(edge)
    company = await edge.company()
    token = await edge.user({company: "operator"})
    headers = {**bearer(token), "CompanyID": str(company)}
    client = edge.client

    async def ok(method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    asset = await ok(
        "POST",
        "/api/assets",
        {"code": "NUL1", "name": "n", "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "EBX"},
    )
    site = await ok(
        "POST",
        "/api/sites",
        {"name": "s", "code": "NULS", "region": "DE", "delivery_area": "AMPN", "dispatch_mode": {"name": "MANUAL"}},
    )
    inverter = await ok(
        "POST",
        f"/api/sites/{site['id']}/inverters",
        {
            "rated_power": {"amount": "1", "unit": "MW"},
            "charge_efficiency": "0.9",
            "discharge_efficiency": "0.9",
            "asset_ids": [asset["id"]],
        },
    )
    spec_key = {"asset_id": asset["id"], "valid_from": "2031-01-01T00:00:00Z"}
    await ok("PUT", "/api/specs", spec_key)
    cases = [
        ("PATCH", f"/api/assets/{asset['id']}", "/api/assets/{asset_id}", {}),
        ("PATCH", f"/api/sites/{site['id']}", "/api/sites/{site_id}", {}),
        (
            "PATCH",
            f"/api/sites/{site['id']}/inverters/{inverter['id']}",
            "/api/sites/{site_id}/inverters/{inverter_id}",
            {},
        ),
        ("PUT", "/api/specs", "/api/specs", spec_key),
    ]
    checked = 0
    for method, url, path, base in cases:
        body_schema = doc["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        for name, prop in _schema(doc, body_schema)["properties"].items():
            if name in base:
                continue
            r = await client.request(method, url, json={**base, name: None}, headers=headers)
            accepted = r.status_code == 200
            assert accepted == _nullable(prop), (method, path, name, r.status_code, r.text)
            assert r.status_code in (200, 422), r.text
            checked += 1
    assert checked >= 20
    # The case the document got wrong: an asset's type is required once it exists.
    r = await client.patch(f"/api/assets/{asset['id']}", json={"type": None}, headers=headers)
    assert r.status_code == 422
