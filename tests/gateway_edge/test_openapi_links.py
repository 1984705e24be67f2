"""OpenAPI links survive the gateway's merge: renamed operation ids are followed, links to operations the
route table does not publish are dropped, and every link of the served document names an operation."""

from __future__ import annotations

from typing import Any

from .conftest import Edge


def _op_ids(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def _links(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, name, link)
        for path, item in doc["paths"].items()
        for op in item.values()
        if isinstance(op, dict)
        for response in (op.get("responses") or {}).values()
        for name, link in (response.get("links") or {}).items()
    ]


async def test_served_document_links_name_operations(edge: Edge) -> None:
    doc = (await edge.client.get("/openapi.json")).json()
    ops = _op_ids(doc)
    links = _links(doc)
    assert links and all(link["operationId"] in ops for _, _, link in links), links
    created = doc["paths"]["/api/assets"]["post"]["responses"]["201"]["links"]
    assert ops[created["GetAsset"]["operationId"]] == ("GET", "/api/assets/{asset_id}")
    assert ops[created["CommissionAsset"]["operationId"]] == ("POST", "/api/assets/{asset_id}/actions/commission")
    site = doc["paths"]["/api/sites"]["post"]["responses"]["201"]["links"]
    assert ops[site["GetSite"]["operationId"]] == ("GET", "/api/sites/{site_id}")


def test_merge_follows_renamed_operation_ids_and_drops_dangling_links() -> None:
    from fastapi import FastAPI

    from gateway.edge.openapi import OpenAPIMerger
    from gateway.edge.proxy import EdgeState
    from gateway.edge.ratelimit import TokenBuckets
    from gateway.edge.routes import ROUTES, RouteTable

    table = RouteTable(ROUTES)
    merger = OpenAPIMerger(FastAPI(), EdgeState(table, TokenBuckets(10)), table, ttl=60)

    def svc(base: str) -> dict[str, Any]:
        ok = {"description": "ok"}
        return {
            "openapi": "3.1.0",
            "info": {"title": "s", "version": "1"},
            "paths": {
                base: {
                    "post": {
                        "operationId": "create_thing",
                        "responses": {
                            "201": {
                                "description": "created",
                                "links": {
                                    "GetThing": {
                                        "operationId": "get_thing",
                                        "parameters": {"id": "$response.body#/id"},
                                    },
                                    "Hidden": {"operationId": "hidden_thing", "parameters": {}},
                                },
                            }
                        },
                    }
                },
                base + "/{id}": {"get": {"operationId": "get_thing", "responses": {"200": ok}}},
                "/not/routed/{id}": {"get": {"operationId": "hidden_thing", "responses": {"200": ok}}},
            },
        }

    merger._service_docs = {"asset-service": svc("/api/assets/x"), "deal-service": svc("/api/staff/deal/x")}
    doc = merger.merge()
    ops = _op_ids(doc)
    asset_links = doc["paths"]["/api/assets/x"]["post"]["responses"]["201"]["links"]
    deal_links = doc["paths"]["/api/staff/deal/x"]["post"]["responses"]["201"]["links"]
    # Each service's link points to its own read operation, under the name it has in the merged document.
    assert ops[asset_links["GetThing"]["operationId"]] == ("GET", "/api/assets/x/{id}")
    assert ops[deal_links["GetThing"]["operationId"]] == ("GET", "/api/staff/deal/x/{id}")
    assert deal_links["GetThing"]["operationId"] != "get_thing"
    # The target of "Hidden" is not published by the route table: the link is dropped, not left dangling.
    assert "Hidden" not in asset_links and "Hidden" not in deal_links


def test_renamed_components_get_their_own_title() -> None:
    """Two services' different ``Part`` schemas: the renamed one must not keep the title ``Part`` (SDK
    generators name classes by title and drop duplicates)."""
    from fastapi import FastAPI

    from gateway.edge.openapi import OpenAPIMerger
    from gateway.edge.proxy import EdgeState
    from gateway.edge.ratelimit import TokenBuckets
    from gateway.edge.routes import ROUTES, RouteTable

    table = RouteTable(ROUTES)
    merger = OpenAPIMerger(FastAPI(), EdgeState(table, TokenBuckets(10)), table, ttl=60)

    def svc(path: str, kind: str) -> dict[str, Any]:
        ref = {"$ref": "#/components/schemas/Part"}
        return {
            "openapi": "3.1.0",
            "info": {"title": "s", "version": "1"},
            "paths": {
                path: {
                    "get": {
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}}
                    }
                }
            },
            "components": {"schemas": {"Part": {"title": "Part", "type": kind}}},
        }

    merger._service_docs = {
        "asset-service": svc("/api/assets/x", "string"),
        "deal-service": svc("/api/staff/deal/x", "integer"),
    }
    schemas = merger.merge()["components"]["schemas"]
    assert schemas["Part"]["title"] == "Part" and schemas["DealServicePart"]["title"] == "DealServicePart"
    titles = [s.get("title") for s in schemas.values()]
    assert len(titles) == len(set(titles))
