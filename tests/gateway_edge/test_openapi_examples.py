"""Swagger UI's "Try it out" pre-fills sensible requests: the example it builds for every request body
of the merged document (from the schema's ``examples``, the way Swagger UI does) is valid against the
schema, and the create operations of assets and sites succeed with it through the live gateway."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from .conftest import Edge, bearer

METHODS = ("get", "put", "post", "delete", "patch")


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = doc["components"]["schemas"][node["$ref"].split("/")[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def sample(doc: dict[str, Any], node: dict[str, Any], depth: int = 0) -> Any:
    """The value Swagger UI pre-fills for a schema: its first example, else one built from its parts
    (every property of an object, one item of an array, the first enum value, the first non-null
    alternative), else a placeholder of its type."""
    assert depth < 20, node
    if "examples" in node:
        return node["examples"][0]
    if "example" in node:
        return node["example"]
    if "$ref" in node:
        return sample(doc, _resolve(doc, node), depth + 1)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"]
            return sample(doc, options[0], depth + 1)
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(_resolve(doc, part))
        return sample(doc, merged, depth + 1)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: sample(doc, prop, depth + 1) for name, prop in (node.get("properties") or {}).items()}
    if kind == "array":
        return [sample(doc, node.get("items", {}), depth + 1)]
    return {"string": "string", "integer": 0, "number": 0, "boolean": True}.get(str(kind))


def request_bodies(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
                if media:
                    out.append((f"{method.upper()} {path}", media["schema"]))
    return out


def _placeholders(value: Any, where: str = "") -> list[str]:
    """Where a pre-filled value is Swagger UI's placeholder for a schema without example ("string")."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _placeholders(v, f"{where}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _placeholders(v, f"{where}/{i}")]
    return [where or "/"] if value == "string" else []


def invalid_examples(doc: dict[str, Any]) -> list[str]:
    """Every request body whose pre-filled example the schema refuses, and every schema or property
    example that does not match its own schema."""
    problems = []
    root = {"components": doc["components"]}

    def check(where: str, schema: dict[str, Any], value: Any) -> None:
        validator = jsonschema_rs.Draft202012Validator({**root, **schema}, validate_formats=True)
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(value)]
        if errors:
            problems.append(f"{where}: example {value!r} refused: {errors[:3]}")

    for where, schema in request_bodies(doc):
        value = sample(doc, schema)
        check(where, schema, value)
        placeholders = _placeholders(value)
        if placeholders:
            problems.append(f"{where}: example {value!r} has placeholders at {placeholders}")
    for name, schema in doc["components"]["schemas"].items():
        for i, ex in enumerate(schema.get("examples", [])):
            check(f"{name} examples[{i}]", {k: v for k, v in schema.items() if k != "examples"}, ex)
        for prop, sub in (schema.get("properties") or {}).items():
            for i, ex in enumerate(sub.get("examples", [])):
                check(f"{name}.{prop} examples[{i}]", {k: v for k, v in sub.items() if k != "examples"}, ex)
    return problems


async def _doc(edge: Edge) -> dict[str, Any]:
    r = await edge.client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def test_checker_refuses_a_placeholder() -> None:
    doc = {
        "paths": {
            "/x": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}}
                }
            }
        },
        "components": {
            "schemas": {
                "S": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "pattern": "^[A-Z]+$"},
                        "n": {"type": "integer", "examples": [-1], "minimum": 0},
                    },
                }
            }
        },
    }
    problems = invalid_examples(doc)
    assert len(problems) == 3, problems
    assert problems[0].startswith("POST /x: example {'code': 'string', 'n': -1} refused")
    assert problems[1].endswith("has placeholders at ['/code']")
    assert problems[2].startswith("S.n examples[0]")


async def test_every_request_example_is_valid(edge: Edge) -> None:
    doc = await _doc(edge)
    assert len(request_bodies(doc)) >= 20
    problems = invalid_examples(doc)
    assert problems == [], "\n".join(problems)


async def test_create_examples_succeed_through_the_gateway(edge: Edge) -> None:
    doc = await _doc(edge)
    company = await edge.company()
    headers = {**bearer(await edge.user({company: "operator"})), "CompanyID": str(company)}
    for path in ("/api/assets", "/api/sites"):
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body = sample(doc, schema)
        r = await edge.client.post(path, json=body, headers=headers)
        assert r.status_code == 201, (path, body, r.text)
        created = r.json()
        assert created["code"] == body["code"] and created["name"] == body["name"]
        assert created["name"] != "string" and created["region"] == body["region"]
