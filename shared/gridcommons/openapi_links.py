"""OpenAPI ``links`` between operations, declared by method and path.

A route that creates something declares where its id flows, e.g. on ``POST /api/assets``::

    @router.post("", status_code=201, openapi_extra=links(
        201,
        GetAsset=Link("GET", "/api/assets/{asset_id}", asset_id="$response.body#/id"),
    ))

``links`` writes each target as ``x-link-target: "GET /api/assets/{asset_id}"``; ``resolve_links``
(called by the app factory when the document is built) replaces it with the target's ``operationId``
and refuses (``ValueError``, at start-up) a target that is not an operation of the same app, so a
renamed route cannot leave a dangling link behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TARGET_KEY = "x-link-target"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, init=False)
class Link:
    """A link to the operation ``method path``; ``parameters`` maps the target's parameter names to
    runtime expressions (``$response.body#/id``, ``$request.path.site_id``, ...)."""

    method: str
    path: str
    parameters: dict[str, str] = field(default_factory=dict)
    description: str | None = None

    def __init__(self, method: str, path: str, description: str | None = None, **parameters: str) -> None:
        object.__setattr__(self, "method", method.upper())
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "parameters", dict(parameters))
        object.__setattr__(self, "description", description)


def links(status: int | str, **named: Link) -> dict[str, Any]:
    """``openapi_extra`` for a route: the named links on its ``status`` response."""
    out: dict[str, Any] = {}
    for name, link in named.items():
        spec: dict[str, Any] = {TARGET_KEY: f"{link.method} {link.path}", "parameters": dict(link.parameters)}
        if link.description:
            spec["description"] = link.description
        out[name] = spec
    return {"responses": {str(status): {"links": out}}}


def resolve_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Replace every ``x-link-target`` in ``doc`` (in place) by the target's ``operationId``."""
    op_ids: dict[str, str] = {}
    for path, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict) and op.get("operationId"):
                op_ids[f"{method.upper()} {path}"] = op["operationId"]
    for path, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method not in METHODS or not isinstance(op, dict):
                continue
            for status, response in (op.get("responses") or {}).items():
                for name, link in ((response or {}).get("links") or {}).items():
                    target = link.pop(TARGET_KEY, None)
                    if target is None:
                        continue
                    if target not in op_ids:
                        raise ValueError(
                            f"link {name!r} of {method.upper()} {path} ({status}) points to {target}, "
                            "which is not an operation of this app"
                        )
                    link["operationId"] = op_ids[target]
    return doc
