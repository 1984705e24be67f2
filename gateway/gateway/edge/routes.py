"""The route table (DESIGN §2) as data: which public path goes where, and under which rules.

A request is matched against ``ROUTES`` by path prefix (a prefix matches itself and everything
below it: ``/api/assets`` matches ``/api/assets`` and ``/api/assets/X`` but not ``/api/assetsX``),
the longest prefix winning. ``service=None`` means the gateway answers itself (its FastAPI
routes); anything else is proxied to that service's base URL with the path unchanged.
A path that matches no route is answered 404 by the edge: the table is the only door.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GATEWAY = None  # service value of the gateway's own routes

ASSET = "asset-service"
METERING = "metering-service"
COMMUNITY = "community-service"
DEAL = "deal-service"
MONITORING = "monitoring-service"
UPSTREAMS = (ASSET, METERING, COMMUNITY, DEAL, MONITORING)

DEFAULT_TIMEOUT = 30.0
MiB = 1024 * 1024


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


def _local(*prefixes: str) -> list[Route]:
    return [Route(p, GATEWAY, tenant_scoped=False) for p in prefixes]


def _svc(service: str, *prefixes: str, tenant_scoped: bool = True, timeout: float = DEFAULT_TIMEOUT) -> list[Route]:
    return [Route(p, service, tenant_scoped=tenant_scoped, timeout=timeout) for p in prefixes]


def _ingest(kind: str, service: str) -> Route:
    return Route(f"/api/ingest/{kind}", service, device_allowed=True, methods=frozenset({"POST"}), timeout=60.0)


ROUTES: list[Route] = [
    # --- the gateway itself (auth package + edge + ops) ---
    *_local(
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
    ),
    # --- metering-service (seed 001 meters/hosts/locations, seed 004 unitData) ---
    # Seed 001's user APIs are per user: CompanyID is optional there (checked when sent).
    *_svc(METERING, "/user", "/meters", tenant_scoped=False),
    *_svc(METERING, "/admin/locations", "/admin/hosts", "/admin/meters", "/admin/measurements", "/admin/registers"),
    *_svc(METERING, "/api/staff/unitData", "/api/resident/unitData", timeout=60.0),
    # --- community-service (seed 000, seed 004 community/scenario) ---
    *_svc(COMMUNITY, "/api/communities", "/api/staff/community", "/api/resident/community", "/api/resident/scenario"),
    Route("/api/misc/scenario", COMMUNITY, tenant_scoped=True, device_allowed=True, form_credentials=True),
    # --- deal-service ---
    *_svc(DEAL, "/api/staff/deal", "/api/resident/deal", "/api/staff/downtime"),
    # --- monitoring-service ---
    *_svc(MONITORING, "/api/staff/monitoring"),
    # --- asset-service (seed 002) ---
    *_svc(
        ASSET,
        "/api/assets",
        "/api/asset-statuses",
        "/api/dispatches",
        "/api/limits",
        "/api/forecasts",
        "/api/reservations",
        "/api/specs",
    ),
    # Batches whose largest valid body is over the default limit: the service's own route limit.
    Route("/api/state-snapshots", ASSET, max_body_bytes=4 * MiB),  # 10,000 snapshots
    Route("/api/sites", ASSET, max_body_bytes=16 * MiB),  # 40,000 PoC / inverter limit periods
    # --- ingestion doors (DESIGN §2): one per kind, POST only, open to machine clients ---
    _ingest("meter-readings", METERING),
    _ingest("unit-data", METERING),
    _ingest("deals", DEAL),
    _ingest("logs", MONITORING),
    _ingest("asset-statuses", ASSET),
]


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
