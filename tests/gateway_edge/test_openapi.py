"""The merged OpenAPI document and the Swagger UI (schemathesis over it: test_schemathesis.py)."""

from __future__ import annotations

from typing import Any

from .conftest import Edge


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    kind, name = ref.split("/")[-2:]
    return doc["components"][kind][name]


def _all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _all_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _all_refs(v)]
    return []


async def test_merged_openapi(edge: Edge) -> None:
    r = await edge.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    # The asset-service's paths, as the route table sends them, with the gateway's rules applied.
    assert "/api/assets" in paths and "/api/assets/{asset_id}" in paths
    create = paths["/api/assets"]["post"]
    params = [_resolve(doc, p) for p in create["parameters"]]
    company = [p for p in params if p["name"] == "CompanyID"]
    assert company and company[0]["in"] == "header" and company[0]["required"] is True
    assert {"OAuth2": []} in create["security"] and {"BearerAuth": []} in create["security"]
    assert {"400", "401", "403", "502", "504"} <= set(create["responses"])
    schemes = doc["components"]["securitySchemes"]
    assert schemes["OAuth2"]["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    # Only paths the route table sends to a service (the echo app behind monitoring/community declares a
    # catch-all "/{path}" that the table does not route) and the gateway's own.
    assert "/{path}" not in paths
    assert not any(p.startswith(("/healthz", "/docs", "/openapi.json")) for p in paths)
    # Every $ref resolves.
    for ref in set(_all_refs(doc)):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in doc["components"][kind], ref
    # Operation ids are unique.
    ids = [
        op["operationId"]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))


async def test_docs(edge: Edge) -> None:
    r = await edge.client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text and "/docs/oauth2-redirect" in r.text
    r = await edge.client.get("/docs/oauth2-redirect")
    assert r.status_code == 200 and "oauth2" in r.text.lower()


def test_merge_renames_conflicting_components() -> None:
    from fastapi import FastAPI

    from gateway.edge.openapi import OpenAPIMerger
    from gateway.edge.proxy import EdgeState
    from gateway.edge.ratelimit import TokenBuckets
    from gateway.edge.routes import ROUTES, RouteTable

    table = RouteTable(ROUTES)
    merger = OpenAPIMerger(FastAPI(), EdgeState(table, TokenBuckets(10)), table, ttl=60)

    def svc(path: str, description: str) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "s", "version": "1"},
            "paths": {
                path: {
                    "get": {
                        "operationId": "get_thing",
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                            }
                        },
                    }
                },
                "/not/routed": {"get": {"responses": {"200": {"description": "ok"}}}},
            },
            "components": {
                "schemas": {
                    "Thing": {"type": "object", "properties": {"part": {"$ref": "#/components/schemas/Part"}}},
                    "Part": {"type": "string", "description": description},
                    "Same": {"type": "integer"},
                }
            },
        }

    merger._service_docs = {"asset-service": svc("/api/assets/x", "a"), "deal-service": svc("/api/staff/deal/x", "d")}
    doc = merger.merge()
    schemas = doc["components"]["schemas"]
    assert "/not/routed" not in doc["paths"]
    assert schemas["Part"]["description"] == "a" and schemas["DealServicePart"]["description"] == "d"
    # Thing is textually equal but refers to a renamed Part, so it is renamed too, and its $ref rewritten.
    assert schemas["DealServiceThing"]["properties"]["part"]["$ref"] == "#/components/schemas/DealServicePart"
    assert "DealServiceSame" not in schemas  # identical components are shared
    deal_op = doc["paths"]["/api/staff/deal/x"]["get"]
    assert (
        deal_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        == "#/components/schemas/DealServiceThing"
    )
    assert deal_op["operationId"] != doc["paths"]["/api/assets/x"]["get"]["operationId"]
