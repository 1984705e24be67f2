"""The merged OpenAPI document and the Swagger UI (schemathesis over it: test_schemathesis.py)."""

from __future__ import annotations

import re
from typing import Any

from .conftest import Edge, bearer


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
    # Signed in (as a person, or with a pasted token) and in a company: CompanyID is a security scheme.
    assert create["security"] == [{"PasswordLogin": [], "CompanyID": []}, {"BearerAuth": [], "CompanyID": []}]
    assert {"400", "401", "403", "502", "504"} <= set(create["responses"])
    schemes = doc["components"]["securitySchemes"]
    assert schemes["PasswordLogin"]["flows"]["password"]["tokenUrl"] == "/auth/token"
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
    js = await edge.client.get("/docs/oauth2-redirect.js")
    assert js.status_code == 200 and "swaggerUIRedirectOauth2" in js.text


async def test_docs_page_and_assets_are_served_by_the_gateway_pinned(edge: Edge) -> None:
    from gateway.edge.docs import SWAGGER_UI, SWAGGER_UI_VERSION

    r = await edge.client.get("/docs")
    page = r.text
    # Nothing from another site: every script, style and icon is the gateway's own, and the browser is told so.
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("<!doctype", "")
    assert r.headers["cache-control"] == "no-cache"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    names = {u.rsplit("/", 1)[-1] for u in urls}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "docs.js", "docs.css"} <= names
    assert SWAGGER_UI_VERSION == "5.35.0"
    for url in urls:
        assert url.startswith("/docs/assets/"), url
        asset = await edge.client.get(url)
        assert asset.status_code == 200, url
        # Versioned URLs: cached for a year.
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        name = url.rsplit("/", 1)[-1]
        if (SWAGGER_UI / name).exists():
            assert asset.content == (SWAGGER_UI / name).read_bytes()  # served unchanged
    bundle = next(u for u in urls if u.endswith("swagger-ui-bundle.js"))
    gz = await edge.client.get(bundle, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == (SWAGGER_UI / "swagger-ui-bundle.js").read_bytes()
    # A page from before an upgrade (another digest) still gets the files, uncached; unknown files are 404.
    old = await edge.client.get("/docs/assets/0123456789abcdef/swagger-ui.css")
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    assert (await edge.client.get(bundle.rsplit("/", 1)[0] + "/index.html")).status_code == 404
    assert (await edge.client.get(bundle.rsplit("/", 1)[0] + "/..%2Fdocs.py")).status_code == 404


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
    return [(m.upper(), p, op) for p, item in doc["paths"].items() for m, op in item.items() if m in methods]


async def test_company_id_is_one_api_key_scheme(edge: Edge) -> None:
    from gateway.edge.routes import ROUTES, RouteTable

    doc = (await edge.client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    company = schemes["CompanyID"]
    assert (company["type"], company["in"], company["name"]) == ("apiKey", "header", "CompanyID")
    assert "CommunityId" in company["description"] and "9007199254740991" in company["description"]
    assert "CompanyID" not in doc["components"].get("parameters", {})
    table = RouteTable(ROUTES)
    tenant_ops = 0
    for method, path, op in _operations(doc):
        # One declaration: never a CompanyID / CommunityId header parameter besides the scheme.
        headers = [
            _resolve(doc, p)["name"].lower() for p in op.get("parameters", []) if _resolve(doc, p)["in"] == "header"
        ]
        assert not {"companyid", "communityid"} & set(headers), (method, path)
        security = op.get("security") or []
        route = table.match(path)
        assert route is not None
        tenant = (route.service is not None and route.tenant_scoped) or path.startswith(
            ("/admin/users", "/api/gateway/machine-clients")
        )
        if tenant:
            tenant_ops += 1
            assert security and all(req.get("CompanyID") == [] and len(req) == 2 for req in security), (method, path)
        else:
            assert all("CompanyID" not in req for req in security), (method, path)
    assert tenant_ops > 40
    # No bound a JavaScript number cannot hold (Swagger UI rendered 2^63-1 as 9223372036854776000).
    bounds = [v for k, v in _walk_items(doc) if k in ("maximum", "exclusiveMaximum") and isinstance(v, int)]
    assert bounds and max(bounds) <= 2**53 - 1


def _walk_items(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [(k, v) for k, v in node.items()] + [kv for v in node.values() for kv in _walk_items(v)]
    if isinstance(node, list):
        return [kv for v in node for kv in _walk_items(v)]
    return []


async def test_sign_in_schemes_are_separate_and_scopeless(edge: Edge) -> None:
    doc = (await edge.client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert list(schemes) == ["PasswordLogin", "CompanyID", "BearerAuth", "MachineClient"]
    assert schemes["PasswordLogin"]["flows"] == {"password": {"tokenUrl": "/auth/token", "scopes": {}}}
    assert schemes["MachineClient"]["flows"] == {"clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}}}
    assert all(s.get("description") for s in schemes.values())
    for method, path, op in _operations(doc):
        for req in op.get("security") or []:
            assert all(scopes == [] for scopes in req.values()), (method, path)
            assert set(req) <= set(schemes)
    # Machine clients are offered where they are allowed (ingestion), not elsewhere.
    ingest = doc["paths"]["/api/ingest/asset-statuses"]["post"]["security"]
    assert ingest[0] == {"MachineClient": [], "CompanyID": []}
    assert not any("MachineClient" in req for req in doc["paths"]["/api/assets"]["get"]["security"])


async def test_one_tag_per_operation_described_and_ordered(edge: Edge) -> None:
    doc = (await edge.client.get("/openapi.json")).json()
    for method, path, op in _operations(doc):
        assert len(op.get("tags", [])) == 1, (method, path, op.get("tags"))
    tags = doc["tags"]
    names = [t["name"] for t in tags]
    assert len(names) == len(set(names))
    assert all(t.get("description") for t in tags), [t["name"] for t in tags if not t.get("description")]
    used = {op["tags"][0] for _, _, op in _operations(doc)}
    assert used == set(names)
    assert names[:2] == ["auth", "companies"] and names[-1] == "ingestion"
    assert names.index("assets") < names.index("asset lifecycle") < names.index("ingestion")
    lifecycle = doc["paths"]["/api/assets/{asset_id}/actions/go-live"]["post"]
    assert lifecycle["tags"] == ["asset lifecycle"]
    assert doc["paths"]["/api/ingest/asset-statuses"]["post"]["tags"] == ["ingestion"]


async def test_company_id_bound_is_the_documented_one(edge: Edge) -> None:
    token = await edge.superuser_token()
    for value, status in (("9007199254740992", 400), ("99999999999999999", 400), ("9007199254740991", 403)):
        r = await edge.client.get("/api/gateway/machine-clients", headers={**bearer(token), "CompanyID": value})
        assert r.status_code == status, (value, r.text)
    r = await edge.client.get("/api/gateway/companies/9007199254740992/members", headers=bearer(token))
    assert r.status_code == 422


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
