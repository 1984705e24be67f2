"""The services' OpenAPI documents: one component per wire type (no ``-Input``/``-Output`` pairs with
the same title, which SDK generators drop as duplicates), and links resolved to operation ids."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from typing import Any

import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from gridcommons.app import create_service_app
from gridcommons.openapi_links import Link, links
from gridcommons.quantity import DECIMAL_PATTERN, Energy, Power, Price
from gridcommons.registry import ServiceEntry, load_registry
from gridcommons.settings import ServiceSettings

# Every service of the registry (the gateway's own document is checked in tests/gateway_edge).
SERVICES = [e for e in load_registry() if not e.is_gateway]


def _document(entry: ServiceEntry) -> dict[str, Any]:
    settings = importlib.import_module(f"{entry.package}.settings").load_settings()
    module, _, factory = entry.app.partition(":")
    app = getattr(importlib.import_module(module), factory)(settings)
    return app.openapi()  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES, ids=[e.package for e in SERVICES])
def test_one_component_per_title(service: ServiceEntry) -> None:
    doc = _document(service)
    schemas = doc.get("components", {}).get("schemas", {})
    assert not [n for n in schemas if n.endswith(("-Input", "-Output"))]
    titles = Counter(s.get("title", n) for n, s in schemas.items())
    assert [t for t, n in titles.items() if n > 1] == []


def test_quantities_document_decimal_strings_and_their_unit() -> None:
    for cls, unit in ((Power, "MW"), (Energy, "MWh"), (Price, "EUR/MWh")):
        for mode in ("validation", "serialization"):
            schema = cls.model_json_schema(mode=mode)  # type: ignore[arg-type]
            assert schema["properties"]["unit"]["enum"] == [unit]
            assert schema["properties"]["amount"]["type"] == "string"
            assert schema["properties"]["amount"]["pattern"] == DECIMAL_PATTERN
    import re

    pattern = re.compile(DECIMAL_PATTERN)
    # What the server writes always matches; numbers are still accepted on input.
    for amount in ("0", "-3", "12.5", "0.000000000000000001", "99999999999999999999"):
        assert pattern.match(amount) and Power(amount=amount, unit="MW").model_dump(mode="json")["amount"] == amount
    assert Power(amount=2.5, unit="MW").model_dump(mode="json") == {"amount": "2.5", "unit": "MW"}
    for bad in ("1e3", "1.", ".5", "+1", "NaN", "1,5"):
        assert not pattern.match(bad)


def test_asset_service_declares_links_from_create_to_read() -> None:
    doc = _document(next(e for e in SERVICES if e.name == "asset-service"))
    ops = {
        op["operationId"]: (method.upper(), path) for path, item in doc["paths"].items() for method, op in item.items()
    }
    created = doc["paths"]["/api/assets"]["post"]["responses"]["201"]["links"]
    targets = {name: ops[link["operationId"]] for name, link in created.items()}
    assert targets["GetAsset"] == ("GET", "/api/assets/{asset_id}")
    assert targets["PatchAsset"] == ("PATCH", "/api/assets/{asset_id}")
    assert targets["DeleteAsset"] == ("DELETE", "/api/assets/{asset_id}")
    assert targets["GoLiveAsset"] == ("POST", "/api/assets/{asset_id}/actions/go-live")
    assert all(link["parameters"] == {"asset_id": "$response.body#/id"} for link in created.values())
    site = doc["paths"]["/api/sites"]["post"]["responses"]["201"]["links"]
    assert ops[site["GetSite"]["operationId"]] == ("GET", "/api/sites/{site_id}")
    inverter = doc["paths"]["/api/sites/{site_id}/inverters"]["post"]["responses"]["201"]["links"]
    assert ops[inverter["GetInverter"]["operationId"]] == ("GET", "/api/sites/{site_id}/inverters/{inverter_id}")
    assert inverter["GetInverter"]["parameters"] == {
        "site_id": "$response.body#/site_id",
        "inverter_id": "$response.body#/id",
    }
    # Every link in the document names an existing operation, and no kernel marker is left behind.
    for path, item in doc["paths"].items():
        for op in item.values():
            for response in op["responses"].values():
                for link in (response.get("links") or {}).values():
                    assert link["operationId"] in ops, (path, link)
    assert "x-link-target" not in json.dumps(doc)


class Thing(BaseModel):
    id: str


def _app(target: str) -> Any:
    router = APIRouter()

    @router.post(
        "/things",
        status_code=201,
        openapi_extra=links(201, GetThing=Link("GET", target, thing_id="$response.body#/id")),
    )
    async def create_thing() -> Thing:
        return Thing(id="1")

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: str) -> Thing:
        return Thing(id=thing_id)

    return create_service_app(name="t", title="t", settings=ServiceSettings(), routers=[router], configure_logs=False)


def test_links_resolve_to_operation_ids_and_dangling_targets_are_refused() -> None:
    doc = _app("/things/{thing_id}").openapi()
    link = doc["paths"]["/things"]["post"]["responses"]["201"]["links"]["GetThing"]
    assert link == {
        "operationId": doc["paths"]["/things/{thing_id}"]["get"]["operationId"],
        "parameters": {"thing_id": "$response.body#/id"},
    }
    with pytest.raises(ValueError, match="GET /things/{thing_id}/nope"):
        _app("/things/{thing_id}/nope").openapi()
