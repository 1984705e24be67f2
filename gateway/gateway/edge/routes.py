"""The route table (DESIGN §2) as data: which public path goes where, and under which rules.

A request is matched against ``ROUTES`` by path prefix (a prefix matches itself and everything
below it: ``/api/assets`` matches ``/api/assets`` and ``/api/assets/X`` but not ``/api/assetsX``),
the longest prefix winning. ``service=None`` means the gateway answers itself (its FastAPI
routes); anything else is proxied to that service's base URL with the path unchanged.
A path that matches no route is answered 404 by the edge: the table is the only door.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gridcommons.registry import INGEST_DOOR_PREFIX, ServiceEntry, load_registry, repo_root

GATEWAY = None  # service value of the gateway's own routes

DEFAULT_TIMEOUT = 30.0
INGEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Route:
    prefix: str  # no trailing slash; matches the prefix itself and every path below it
    service: str | None  # None: handled by the gateway itself
    tenant_scoped: bool = True  # CompanyID (or CommunityId) required and checked against the membership
    timeout: float = DEFAULT_TIMEOUT  # seconds to wait for the upstream's response (and each body chunk)
    device_allowed: bool = False  # machine clients (role device) may use it
    methods: frozenset[str] | None = None  # None: every method
    form_credentials: bool = False  # seed 004 device doors: username/account + password in the form
    max_body_bytes: int | None = None  # this route's request body limit (None: GATEWAY_MAX_BODY_BYTES)
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def matches(self, path: str) -> bool:
        p = self.prefix
        return path == p or (path.startswith(p) and path[len(p)] == "/")


# The gateway itself (auth package + edge + ops): its code's routes, not tenant-scoped by the table
# (its secured operations check CompanyID themselves).
LOCAL_PREFIXES = (
    "/auth",
    "/api/core",
    "/admin/users",
    "/.well-known",
    "/api/gateway",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
)


def service_routes(entry: ServiceEntry) -> list[Route]:
    """A registry entry's doors: its route groups, then its ingestion doors (DESIGN §2: one per kind,
    POST only, open to machine clients)."""
    routes = [
        Route(
            spec.prefix,
            entry.name,
            tenant_scoped=spec.tenant_scoped,
            timeout=DEFAULT_TIMEOUT if spec.timeout is None else spec.timeout,
            device_allowed=spec.device_allowed,
            methods=spec.methods,
            form_credentials=spec.form_credentials,
            max_body_bytes=spec.max_body_bytes,
        )
        for spec in entry.routes
    ]
    routes += [
        Route(
            INGEST_DOOR_PREFIX + kind,
            entry.name,
            device_allowed=True,
            methods=frozenset({"POST"}),
            timeout=INGEST_TIMEOUT,
            max_body_bytes=entry.ingest_max_body_bytes(kind),
        )
        for kind in entry.ingest
    ]
    return routes


def build_routes(registry: list[ServiceEntry]) -> list[Route]:
    """The route table: the gateway's own prefixes, then every service's doors from the registry."""
    local = [Route(p, GATEWAY, tenant_scoped=False) for p in LOCAL_PREFIXES]
    return local + [r for entry in registry if not entry.is_gateway for r in service_routes(entry)]


def _load() -> list[ServiceEntry]:
    try:
        root = repo_root()
    except FileNotFoundError:
        root = Path(__file__).resolve().parents[3]  # the monorepo checkout
    return load_registry(root)


# Loaded once at import: the registry is part of the deployment, like the code.
REGISTRY: list[ServiceEntry] = _load()
# Services the gateway proxies to, in registry order (the order of their tags in the merged document).
UPSTREAMS: tuple[str, ...] = tuple(e.name for e in REGISTRY if not e.is_gateway and (e.routes or e.ingest))
ROUTES: list[Route] = build_routes(REGISTRY)


class RouteTable:
    """Longest-prefix lookup over ``routes``: one dict probe per path segment boundary, longest first."""

    def __init__(self, routes: list[Route], timeouts: dict[str, float] | None = None):
        timeouts = timeouts or {}
        resolved = []
        for r in routes:
            t = timeouts.get(r.prefix, timeouts.get(r.service or "", r.timeout))
            resolved.append(r if t == r.timeout else Route(**{**r.__dict__, "timeout": float(t)}))
        self.routes = resolved
        self._by_prefix: dict[str, Route] = {}
        for r in resolved:
            if r.prefix in self._by_prefix:
                raise ValueError(f"route prefix {r.prefix} listed twice")
            self._by_prefix[r.prefix] = r
        self._max_depth = max(r.prefix.count("/") for r in resolved)

    def match(self, path: str) -> Route | None:
        by_prefix = self._by_prefix
        # Cut the path to at most the deepest prefix's number of segments, then shorten segment by segment.
        end = 0
        for _ in range(self._max_depth):
            end = path.find("/", end + 1)
            if end < 0:
                end = len(path)
                break
        candidate = path[:end]
        while candidate:
            route = by_prefix.get(candidate)
            if route is not None:
                return route
            cut = candidate.rfind("/")
            if cut <= 0:
                return None
            candidate = candidate[:cut]
        return None

    def services(self) -> set[str]:
        return {r.service for r in self.routes if r.service is not None}
