"""The merged OpenAPI document (``GET /openapi.json``) and the Swagger UI (``GET /docs``).

Each upstream's ``/openapi.json`` is fetched (cached for ``openapi_cache_seconds``; a service that
is down keeps its last good copy, or is left out), reduced to the paths the route table sends to
that service, and merged with the gateway's own routes. Components that clash by name but differ
are renamed with the service's prefix and every ``$ref`` to them rewritten. Every proxied operation
gets the security requirements (see ``security_requirements``: a sign-in scheme and, when the route
is tenant-scoped, the ``CompanyID`` API-key scheme) and the gateway's error responses. Tags get one
line of description each and are ordered as a user explores (``order_tags``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import aiohttp
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from gridcommons.app import DOCS_READER
from gridcommons.errors import ErrorBody
from gridcommons.identity import INTERNAL_IDENTITY_HEADER
from gridcommons.openapi import INGESTION_TAG

from ..auth.deps import BEARER_SCHEME, CLIENT_SCHEME, COMPANY_SCHEME, PASSWORD_SCHEME, SECURITY_SCHEMES
from . import docs
from .proxy import EdgeState
from .routes import UPSTREAMS, Route, RouteTable

log = logging.getLogger("gateway.edge.openapi")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_KINDS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links", "callbacks")

# Where each source's tags go in the merged document, as a user explores: sign in and pick a company
# (the gateway's own tags), then each service in registry order (deploy/services.toml: the community
# register, the assets, meters, deals, monitoring); the ingestion doors of every service last.
# Within a source, its own declared order.
TAG_SOURCE_ORDER: tuple[str | None, ...] = (None, *UPSTREAMS)
LAST_TAGS = (INGESTION_TAG["name"],)
ERROR_SCHEMA = {
    "title": "GatewayError",
    "type": "object",
    "description": "An error answered by the gateway or a service.",
    "properties": {"detail": {"title": "Detail", "type": "string", "description": "What went wrong, in words."}},
    "required": ["detail"],
}
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}}}
PROXY_RESPONSES = {
    "401": {"description": "Missing, invalid, expired or revoked bearer token", **_ERR},
    "403": {"description": "Not allowed (role, machine client, or not a member of the company)", **_ERR},
    "502": {"description": "The owning service is unreachable", **_ERR},
    "504": {"description": "The owning service did not answer in time", **_ERR},
}
TENANT_RESPONSES = {"400": {"description": "CompanyID header missing or not a number", **_ERR}}
# Routes open to machine clients: each client has a request budget per minute.
BUDGET_RESPONSES = {"429": {"description": "Request budget of the machine client exceeded (see Retry-After)", **_ERR}}
# Seed 004's form doors: the credentials and the company come from the form.
FORM_DOOR_RESPONSES = {
    "400": {"description": "Malformed form body, credentials missing, or no company named among several", **_ERR}
}
# Every write: the kernel answers a unique-key clash (e.g. a duplicate company name) or a concurrent
# conflicting request (deadlock, serialization failure; nothing written, retry after Retry-After) with 409.
WRITE_RESPONSES = {
    "409": {"description": "Conflict: the resource exists already, or a concurrent request conflicted (retry)", **_ERR}
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# JSON bodies that do not parse are FastAPI's 422 (``json_invalid``), documented with the other 422s.


# Bodies over the limit: the process default (``*_MAX_BODY_BYTES``) or the route's own, larger one
# for the big batches (state snapshots, PoC and inverter limits); the READMEs give the numbers.
BODY_LIMIT_RESPONSES = {"413": {"description": "Request body larger than the operation's limit", **_ERR}}
# Statuses whose answers are the kernel's JSON error body even where an operation's other errors are text.
KERNEL_JSON_ERRORS = frozenset({"409", "413", "429"})


def _add_error_responses(op: dict[str, Any], method: str, extra: dict[str, Any], *, json_errors: bool = True) -> None:
    """Add ``extra`` where the operation does not document the status yet, the 409 of writes and the
    413 of bodies, and give every documented error without a body the ``{"detail": ...}`` body its
    answers carry (``json_errors``; off for operations whose errors are plain text, seed 004)."""
    responses = op.setdefault("responses", {})
    # The gateway's own answers with a status the service documents too: both causes are said.
    for code, spec in extra.items():
        mine, theirs = spec.get("description", ""), responses.get(code, {}).get("description", "")
        if theirs and mine and mine not in theirs:
            responses[code] = {**responses[code], "description": f"{mine}; or {theirs[:1].lower()}{theirs[1:]}"}
    if method in WRITE_METHODS:
        extra = {**WRITE_RESPONSES, **extra}
    if "requestBody" in op:
        extra = {**BODY_LIMIT_RESPONSES, **extra}
    for code, spec in extra.items():
        responses.setdefault(code, spec)
    for code, spec in list(responses.items()):
        if not isinstance(spec, dict) or not str(code).startswith("4") or str(code) == "422":
            continue
        filled = dict(spec)
        filled.setdefault("description", HTTP_REASONS.get(str(code), "Error"))
        if (json_errors or str(code) in KERNEL_JSON_ERRORS) and not filled.get("content"):
            filled.update(_ERR)
        responses[code] = filled


HTTP_REASONS = {"400": "Bad request", "404": "Not found", "409": "Conflict", "429": "Too many requests"}


class OpenAPIMerger:
    def __init__(self, app: FastAPI, edge: EdgeState, table: RouteTable, ttl: float):
        self.app = app
        self.edge = edge
        self.table = table
        self.ttl = ttl
        self._service_docs: dict[str, dict[str, Any]] = {}
        self._fetched_at: dict[str, float] = {}
        self._merged: dict[str, Any] | None = None
        self._merged_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._merged is not None and now - self._merged_at < self.ttl:
            return self._merged
        async with self._lock:
            if self._merged is not None and time.monotonic() - self._merged_at < self.ttl:
                return self._merged
            await self._refresh()
            merged = self.merge()
            # Cache for the full TTL only when every upstream answered; otherwise retry soon.
            complete = all(s in self._service_docs for s in self.table.services() if s in self.edge.urls)
            self._merged = merged
            self._merged_at = time.monotonic() - (0 if complete else max(0.0, self.ttl - 5.0))
            return merged

    async def _refresh(self) -> None:
        names = [s for s in sorted(self.table.services()) if s in self.edge.urls]
        results = await asyncio.gather(*(self._fetch(n) for n in names), return_exceptions=True)
        for name, result in zip(names, results, strict=True):
            if isinstance(result, dict):
                self._service_docs[name] = result
                self._fetched_at[name] = time.monotonic()
            else:
                log.warning(
                    "openapi of %s unavailable (%r); using %s",
                    name,
                    result,
                    "the last copy" if name in self._service_docs else "nothing",
                )

    async def _fetch(self, service: str) -> dict[str, Any]:
        session = self.edge.sessions.get(service)
        if session is None:
            raise RuntimeError("no session")
        timeout = aiohttp.ClientTimeout(total=3.0, connect=1.0)
        # Services answer their document to the gateway's internal identity (gridcommons.app.OpsAccess).
        signer = self.edge.signer
        headers = {INTERNAL_IDENTITY_HEADER: signer.sign(DOCS_READER)} if signer is not None else {}
        async with session.get(self.edge.urls[service] + "/openapi.json", timeout=timeout, headers=headers) as resp:
            if resp.status != 200:
                raise RuntimeError(f"status {resp.status}")
            doc = await resp.json(content_type=None)
        if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
            raise RuntimeError("not an OpenAPI document")
        return doc

    # ------------------------------------------------------------------ merging
    def gateway_document(self) -> dict[str, Any]:
        doc = get_openapi(
            title=self.app.title,
            version=self.app.version,
            description=self.app.description,
            routes=self.app.routes,
            tags=self.app.openapi_tags,
        )
        # Only what the route table keeps local (a gateway route outside the table is unreachable).
        doc["paths"] = {
            p: v for p, v in doc.get("paths", {}).items() if (r := self.table.match(p)) and r.service is None
        }
        return doc

    def merge(self) -> dict[str, Any]:
        gw = self.gateway_document()
        merged: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": gw.get("info", {"title": "GridCommons API", "version": "0.1.0"}),
            "paths": {},
            "components": {kind: {} for kind in COMPONENT_KINDS},
            "tags": [],
        }
        op_ids: set[str] = set()
        self._add(merged, gw, None, op_ids)
        for service in sorted(self._service_docs):
            self._add(merged, copy.deepcopy(self._service_docs[service]), service, op_ids)
        comps = merged["components"]
        comps["schemas"].setdefault("GatewayError", ERROR_SCHEMA)
        # The gateway is the only door: its schemes are the only ones a client deals with.
        comps["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
        # A link to an operation the route table does not publish would dangle: drop it.
        for item in merged["paths"].values():
            for key, op in item.items():
                if key in METHODS:
                    for response in (op.get("responses") or {}).values():
                        found = (response or {}).get("links")
                        if isinstance(found, dict):
                            dangling = [
                                n for n, lk in found.items() if "operationId" in lk and lk["operationId"] not in op_ids
                            ]
                            for name in dangling:
                                del found[name]
        merged["components"] = {k: v for k, v in comps.items() if v}
        merged["paths"] = dict(sorted(merged["paths"].items()))
        merged["tags"] = order_tags(merged["tags"], merged["paths"])
        if not merged["tags"]:
            del merged["tags"]
        return merged

    def _add(self, merged: dict[str, Any], doc: dict[str, Any], service: str | None, op_ids: set[str]) -> None:
        doc = _gateway_error_body(doc)
        comps = doc.get("components") or {}
        renames = self._renames(merged["components"], comps, service)
        if renames:
            doc = _rewrite_refs(doc, renames)
            comps = doc.get("components") or {}
        for kind in COMPONENT_KINDS:
            for name, value in (comps.get(kind) or {}).items():
                new_name = renames.get((kind, name), name)
                if new_name != name and kind == "schemas" and isinstance(value, dict) and "title" in value:
                    # SDK generators name classes by title: a renamed schema must not keep the other's.
                    value = {**value, "title": new_name}
                merged["components"][kind][new_name] = value
        known_tags = {t["name"] for t in merged["tags"]}
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and tag.get("name") not in known_tags:
                merged["tags"].append({**tag, "x-source": service})
                known_tags.add(tag.get("name"))
        renamed_ops: dict[str, str] = {}
        added: list[dict[str, Any]] = []
        for path, item in (doc.get("paths") or {}).items():
            route = self.table.match(path)
            if route is None or route.service != service:
                continue
            kept = {}
            for key, op in item.items():
                if key in METHODS:
                    if route.methods is not None and key.upper() not in route.methods:
                        continue
                    op = (
                        self._decorate(op, route, key)
                        if service is not None
                        else _document_own_errors(_own_security(op), key)
                    )
                    op_id = op.get("operationId")
                    if op_id:
                        if op_id in op_ids:
                            op = {**op, "operationId": f"{_prefix(service or 'gateway')}_{op_id}"}
                            renamed_ops[op_id] = op["operationId"]
                        op_ids.add(op["operationId"])
                    added.append(op)
                kept[key] = op
            if any(k in METHODS for k in kept):
                merged["paths"][path] = kept
        if renamed_ops:
            # Links name their target by operationId: follow this document's renamed operations.
            for op in added:
                for link in _links(op):
                    if link.get("operationId") in renamed_ops:
                        link["operationId"] = renamed_ops[link["operationId"]]

    def _renames(
        self, target: dict[str, dict[str, Any]], comps: dict[str, Any], service: str | None
    ) -> dict[tuple[str, str], str]:
        renames: dict[tuple[str, str], str] = {}
        while True:
            rewritten = _rewrite_refs(comps, renames) if renames else comps
            new = {}
            for kind in COMPONENT_KINDS:
                for name, value in (rewritten.get(kind) or {}).items():
                    if (kind, name) in renames:
                        continue
                    existing = target[kind].get(name)
                    if existing is not None and existing != value:
                        new[(kind, name)] = _free_name(f"{_prefix(service or 'gateway')}{name}", target[kind])
            if not new:
                return renames
            renames.update(new)

    def _decorate(self, op: dict[str, Any], route: Route, method: str) -> dict[str, Any]:
        op = dict(op)
        op["security"] = security_requirements(tenant=route.tenant_scoped, device=route.device_allowed)
        params = [
            p
            for p in op.get("parameters") or []
            if not (
                isinstance(p, dict)
                and p.get("in") == "header"
                and str(p.get("name", "")).lower() in ("companyid", "communityid", "authorization")
            )
        ]
        if params:
            op["parameters"] = params
        else:
            op.pop("parameters", None)
        op["responses"] = dict(op.get("responses") or {})
        extra = {**(TENANT_RESPONSES if route.tenant_scoped else {}), **PROXY_RESPONSES}
        if route.device_allowed:
            extra.update(BUDGET_RESPONSES)
        if route.form_credentials:
            extra.update(FORM_DOOR_RESPONSES)
        _add_error_responses(op, method, extra)
        return op


def _document_own_errors(op: dict[str, Any], method: str) -> dict[str, Any]:
    """The gateway's own secured operations answer 401/403 (and 400 on a bad CompanyID) through the
    same authenticator as proxied ones; every one answers 413 over the body limit and 409 on a
    conflicting write: document those responses where the operation did not."""
    op = {**op, "responses": dict(op.get("responses") or {})}
    plain_text = any(
        ctype != "application/json"
        for spec in op["responses"].values()
        if isinstance(spec, dict)
        for ctype in (spec.get("content") or {})
    )
    if not op.get("security"):
        _add_error_responses(op, method, {}, json_errors=not plain_text)
        return op
    extra = {k: PROXY_RESPONSES[k] for k in ("401", "403")}
    takes_company = any(COMPANY_SCHEME in req for req in op["security"])
    if takes_company:
        extra.update(TENANT_RESPONSES)
    _add_error_responses(op, method, extra, json_errors=not plain_text)
    return op


def _links(op: dict[str, Any]) -> list[dict[str, Any]]:
    """The links of an operation's responses (inline ones; the services declare no link components)."""
    return [
        link
        for response in (op.get("responses") or {}).values()
        if isinstance(response, dict)
        for link in (response.get("links") or {}).values()
        if isinstance(link, dict)
    ]


# ---------------------------------------------------------------- security requirements
def security_requirements(*, tenant: bool, device: bool = False) -> list[dict[str, list[str]]]:
    """An operation's alternatives: a person's sign-in (password flow or a pasted bearer token) or,
    where machine clients are allowed, a machine client's; each together with the CompanyID scheme
    when the operation is tenant-scoped. No scopes."""
    signed_in = ([CLIENT_SCHEME] if device else []) + [PASSWORD_SCHEME, BEARER_SCHEME]
    return [{name: [], **({COMPANY_SCHEME: []} if tenant else {})} for name in signed_in]


def _own_security(op: dict[str, Any]) -> dict[str, Any]:
    """The gateway's own operations: FastAPI lists each security dependency as its own alternative
    (``[{PasswordLogin: []}, {CompanyID: []}]``); state the canonical requirements instead."""
    security = op.get("security")
    if not security:
        return op
    tenant = any(COMPANY_SCHEME in req for req in security)
    return {**op, "security": security_requirements(tenant=tenant)}


# ---------------------------------------------------------------- tags
def order_tags(tags: list[dict[str, Any]], paths: dict[str, Any]) -> list[dict[str, Any]]:
    """Declared tags in ``TAG_SOURCE_ORDER`` (each source in its own order), undeclared tags that
    operations use after them, ``LAST_TAGS`` last; only tags some operation uses."""
    used: list[str] = []
    for item in paths.values():
        for key, op in item.items():
            if key in METHODS and isinstance(op, dict):
                used.extend(t for t in op.get("tags") or [] if t not in used)
    declared = {t["name"]: t for t in tags}

    def rank(tag: dict[str, Any]) -> int:
        source = tag.get("x-source")
        return TAG_SOURCE_ORDER.index(source) if source in TAG_SOURCE_ORDER else len(TAG_SOURCE_ORDER)

    ordered = sorted((t for t in tags if t["name"] in used), key=rank)  # stable: keeps each source's order
    ordered += [{"name": name} for name in used if name not in declared]
    ordered.sort(key=lambda t: t["name"] in LAST_TAGS)
    return [{k: v for k, v in t.items() if k != "x-source"} for t in ordered]


def _prefix(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("_", "-").split("-"))


def _gateway_error_body(doc: dict[str, Any]) -> dict[str, Any]:
    """The kernel's error body (``gridcommons.errors.ErrorBody``, what ``responses()`` documents) is
    the merged document's ``GatewayError``: one component for every ``{"detail": "..."}`` body."""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    if ErrorBody.__name__ not in schemas:
        return doc
    doc = _rewrite_refs(doc, {("schemas", ErrorBody.__name__): "GatewayError"})
    del doc["components"]["schemas"][ErrorBody.__name__]
    return doc


def _free_name(name: str, taken: dict[str, Any]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}{n}", n + 1
    return candidate


def _rewrite_refs(node: Any, renames: dict[tuple[str, str], str]) -> Any:
    refs = {f"#/components/{kind}/{old}": f"#/components/{kind}/{new}" for (kind, old), new in renames.items()}

    def walk(n: Any) -> Any:
        if isinstance(n, dict):
            out = {}
            for k, v in n.items():
                if k == "$ref" and isinstance(v, str):
                    out[k] = refs.get(v, v)
                else:
                    out[k] = walk(v)
            return out
        if isinstance(n, list):
            return [walk(v) for v in n]
        return n

    return walk(node)


def install_docs(app: FastAPI, merger_ref: dict[str, OpenAPIMerger]) -> None:
    """GET /openapi.json (merged), and the Swagger UI (``docs``): GET /docs, its assets, /docs/oauth2-redirect."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(await merger_ref["merger"].document())

    docs.install(app)
