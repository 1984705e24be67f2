"""The service registry (``deploy/services.toml``): the one place that names the platform's services.

Each ``[[service]]`` entry gives a service's name (also its folder, compose service, host name and
Kafka principal), package, app factory, port (and the variable overriding it), migrations, workers,
the prefix of the topics it publishes, and its public doors at the gateway (``routes``, ``ingest``).
Everything that lists services reads it: ``make run`` (``gridcommons.stack``), the gateway's route
table and upstreams, ``docker-compose.yml`` (generated: ``python -m gridcommons.registry compose``),
the Makefile and the Dockerfile (``dists``, ``mypy-paths``), and the tests (``tests/deploy``).

This module needs only the standard library: the Makefile and the Dockerfile run it as a script
(``python3 shared/gridcommons/registry.py dists``) before anything is installed.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY_PATH = Path("deploy") / "services.toml"
GATEWAY = "gateway"  # the entry that is the edge: every other entry's routes are proxied by it
KERNEL_DIST = "shared"  # the kernel's distribution folder, installed before every service
INGEST_DOOR_PREFIX = "/api/ingest/"

_ENTRY_KEYS = {
    "name",
    "package",
    "app",
    "port",
    "port_env",
    "migrations",
    "workers",
    "topic_prefix",
    "routes",
    "ingest",
}
_ROUTE_KEYS = {
    "prefixes",
    "tenant_scoped",
    "timeout",
    "device_allowed",
    "methods",
    "form_credentials",
    "max_body_bytes",
}


class RegistryError(ValueError):
    """``deploy/services.toml`` is malformed: the message names the entry and the field."""


@dataclass(frozen=True)
class RouteSpec:
    """One public path prefix of a service at the gateway, with its rules (``gateway.edge.routes.Route``)."""

    prefix: str
    tenant_scoped: bool = True
    timeout: float | None = None  # None: the gateway's default
    device_allowed: bool = False
    methods: frozenset[str] | None = None
    form_credentials: bool = False
    max_body_bytes: int | None = None


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    package: str
    app: str
    port: int
    port_env: str
    migrations: Path
    workers: str | None
    topic_prefix: str = ""
    folder: str = ""  # the distribution folder (the name)
    routes: tuple[RouteSpec, ...] = ()
    ingest: tuple[str, ...] = ()  # ingestion doors: POST /api/ingest/<kind>
    ingest_limits: tuple[tuple[str, int], ...] = ()  # (kind, max_body_bytes) of doors with their own body limit

    def ingest_max_body_bytes(self, kind: str) -> int | None:
        """The body limit of the ingestion door ``kind`` when it has its own (else the gateway's default)."""
        return dict(self.ingest_limits).get(kind)

    @property
    def effective_port(self) -> int:
        return int(os.environ.get(self.port_env, self.port))

    @property
    def env_prefix(self) -> str:
        """The service's settings prefix (``ASSET_`` for ``ASSET_PORT``)."""
        return self.port_env.removesuffix("PORT")

    @property
    def upstream_env(self) -> str:
        """The gateway's variable for this service's base URL: ``GATEWAY_UPSTREAM_<NAME>``."""
        return "GATEWAY_UPSTREAM_" + self.name.upper().replace("-", "_")

    @property
    def internal_url_env(self) -> str:
        """The variable of this service's base URL for other services' calls (``gridcommons.internal_client``):
        ``INTERNAL_URL_<NAME>``."""
        return "INTERNAL_URL_" + self.name.upper().replace("-", "_")

    @property
    def is_gateway(self) -> bool:
        return self.name == GATEWAY


def repo_root() -> Path:
    here = Path(os.environ.get("GRIDCOMMONS_ROOT", Path.cwd()))
    for candidate in (here, *here.parents):
        if (candidate / REGISTRY_PATH).exists():
            return candidate
    raise FileNotFoundError("deploy/services.toml not found (run from the repository, or set GRIDCOMMONS_ROOT)")


def load_registry(root: Path | None = None, *, text: str | None = None) -> list[ServiceEntry]:
    """The entries of ``root/deploy/services.toml`` (or of ``text``), in file order, checked."""
    root = root or repo_root()
    try:
        data = tomllib.loads(text if text is not None else (root / REGISTRY_PATH).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"deploy/services.toml: {exc}") from exc
    entries = [_entry(root, s) for s in data.get("service", [])]
    _check(entries)
    return entries


def _entry(root: Path, s: dict[str, Any]) -> ServiceEntry:
    name = s.get("name")
    if not isinstance(name, str) or not name:
        raise RegistryError(f"a [[service]] entry without a name: {s}")
    unknown = set(s) - _ENTRY_KEYS
    if unknown:
        raise RegistryError(f"{name}: unknown field(s) {sorted(unknown)}")
    for key in ("package", "app", "port", "port_env", "migrations", "topic_prefix"):
        if key not in s:
            raise RegistryError(f"{name}: missing field {key!r}")
    if not str(s["port_env"]).endswith("_PORT"):
        raise RegistryError(f"{name}: port_env must be <SETTINGS PREFIX>PORT, e.g. ASSET_PORT")
    if not str(s["topic_prefix"]).endswith("."):
        raise RegistryError(f"{name}: topic_prefix must end with a dot, e.g. 'assets.'")
    routes: list[RouteSpec] = []
    for group in s.get("routes", []):
        unknown = set(group) - _ROUTE_KEYS
        if unknown or "prefixes" not in group:
            raise RegistryError(f"{name}: a route group needs 'prefixes' and only {sorted(_ROUTE_KEYS)}: {group}")
        rules = {k: v for k, v in group.items() if k != "prefixes"}
        if "methods" in rules:
            rules["methods"] = frozenset(m.upper() for m in rules["methods"])
        if "timeout" in rules:
            rules["timeout"] = float(rules["timeout"])
        for prefix in group["prefixes"]:
            if not prefix.startswith("/") or prefix.endswith("/") or prefix.startswith(INGEST_DOOR_PREFIX):
                raise RegistryError(
                    f"{name}: route prefix {prefix!r} must start with '/', not end with '/', and not be an "
                    f"ingestion door (those are listed in 'ingest')"
                )
            routes.append(RouteSpec(prefix, **rules))
    return ServiceEntry(
        name=name,
        package=s["package"],
        app=s["app"],
        port=int(s["port"]),
        port_env=s["port_env"],
        migrations=root / s["migrations"],
        workers=s.get("workers"),
        topic_prefix=s["topic_prefix"],
        folder=name,
        routes=tuple(routes),
        ingest=tuple(door if isinstance(door, str) else door["kind"] for door in s.get("ingest", ())),
        ingest_limits=tuple(
            (door["kind"], int(door["max_body_bytes"]))
            for door in s.get("ingest", ())
            if not isinstance(door, str) and "max_body_bytes" in door
        ),
    )


def _check(entries: list[ServiceEntry]) -> None:
    if not entries or not entries[0].is_gateway:
        raise RegistryError(f"the first entry must be the {GATEWAY!r} (it starts first and fronts the others)")
    for field in ("name", "package", "port", "port_env", "topic_prefix"):
        values = [getattr(e, field) for e in entries]
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise RegistryError(f"{field} listed twice: {twice}")
    prefixes = [r.prefix for e in entries for r in e.routes] + [
        f"{INGEST_DOOR_PREFIX}{k}" for e in entries for k in e.ingest
    ]
    twice = sorted({p for p in prefixes if prefixes.count(p) > 1})
    if twice:
        raise RegistryError(f"route prefix listed twice: {twice}")
    misnamed = [e.name for e in entries[1:] if not e.name.endswith("-service")]
    if misnamed:
        # the folder is the name, and the root pyproject.toml's ruff source roots are "*-service"
        raise RegistryError(f"service names end with '-service': {misnamed}")
    if entries[0].routes or entries[0].ingest:
        raise RegistryError(
            "the gateway's own routes are its code's (gateway/gateway/edge/routes.py), not the registry's"
        )


# ---------------------------------------------------------------- what other files derive from it


def dists(entries: list[ServiceEntry]) -> list[str]:
    """The distribution folders, kernel first: what ``make install`` and the image install."""
    return [KERNEL_DIST, *(e.folder for e in entries)]


def mypy_paths(entries: list[ServiceEntry]) -> list[str]:
    return [f"{KERNEL_DIST}/gridcommons", *(f"{e.folder}/{e.package}" for e in entries)]


def first_party(entries: list[ServiceEntry]) -> list[str]:
    """The import names of the workspace: the kernel and every entry's package."""
    return ["gridcommons", *(e.package for e in entries)]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = ("dists", "editables", "mypy-paths", "packages", "compose")
    if len(args) != 1 or args[0] not in commands:
        print(f"usage: python -m gridcommons.registry {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    entries = load_registry()
    command = args[0]
    if command == "dists":
        print(" ".join(dists(entries)))
    elif command == "editables":
        print(" ".join(f"-e ./{d}" for d in dists(entries)))
    elif command == "mypy-paths":
        print(" ".join(mypy_paths(entries)))
    elif command == "packages":
        print(" ".join(first_party(entries)))
    else:
        if __package__:
            from .compose import render
        else:  # run as a script, before the kernel is installed
            sys.path.insert(0, str(Path(__file__).parent))
            from compose import render  # type: ignore[import-not-found,no-redef]
        sys.stdout.write(render(entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
