"""deploy/services.toml is the one place that names the services: everything that lists them reads it
(or is checked against it), and a new entry reaches each of them."""

from __future__ import annotations

import fnmatch
import importlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gridcommons.registry import KERNEL_DIST, RegistryError, dists, first_party, load_registry, mypy_paths

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT)
REGISTRY_TEXT = (ROOT / "deploy" / "services.toml").read_text()
FAKE = """
[[service]]
name = "fake-service"
package = "fake_service"
app = "fake_service.app:create_app"
port = 8199
port_env = "FAKE_PORT"
migrations = "fake-service/migrations"
workers = "fake_service.workers:build"
topic_prefix = "fake."
routes = [
  { prefixes = ["/api/fake", "/api/fake-open"], tenant_scoped = false },
  { prefixes = ["/api/fake-big"], max_body_bytes = 2_000_000, timeout = 5, methods = ["post"] },
]
ingest = ["fake-readings", { kind = "fake-bulk", max_body_bytes = 9_000_000 }]
"""


def with_fake(extra: str = FAKE) -> list:
    return load_registry(ROOT, text=REGISTRY_TEXT + extra)


# ---------------------------------------------------------------- the registry itself


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (FAKE.replace('"/api/fake-big"', '"/api/assets"'), "route prefix listed twice"),
        (FAKE.replace("port = 8199", "port = 8101"), "port listed twice"),
        (FAKE.replace('topic_prefix = "fake."', 'topic_prefix = "assets."'), "topic_prefix listed twice"),
        (FAKE.replace('topic_prefix = "fake."', 'topic_prefix = "fake"'), "must end with a dot"),
        (FAKE.replace('topic_prefix = "fake."\n', ""), "missing field 'topic_prefix'"),
        (FAKE.replace('port_env = "FAKE_PORT"', 'port_env = "FAKE"'), "port_env"),
        (FAKE.replace("ingest =", "ingestion ="), "unknown field"),
        (FAKE.replace("tenant_scoped = false", "tenant = false"), "a route group needs"),
        (FAKE.replace('"/api/fake-open"', '"/api/fake/"'), "must start with '/', not end with '/'"),
        (FAKE.replace('"/api/fake-open"', '"/api/ingest/x"'), "ingestion door"),
        (FAKE.replace('name = "fake-service"', 'name = "fakes"'), "end with '-service'"),
    ],
)
def test_malformed_entries_are_refused_with_their_field(extra: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(")):
        with_fake(extra)


def test_the_gateway_comes_first_and_declares_no_routes() -> None:
    assert REGISTRY[0].name == "gateway"
    with pytest.raises(RegistryError, match="first entry"):
        load_registry(ROOT, text=FAKE)
    with pytest.raises(RegistryError, match="gateway's own routes"):
        load_registry(
            ROOT, text=REGISTRY_TEXT.replace('topic_prefix = "gateway."', 'topic_prefix = "gateway."\ningest = ["x"]')
        )


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_each_entry_is_a_folder_with_its_package_app_settings_and_workers(entry) -> None:  # type: ignore[no-untyped-def]
    folder = ROOT / entry.folder
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert "gridcommons" in project["project"]["dependencies"]
    assert (folder / entry.package / "__init__.py").exists()
    assert (entry.migrations / "env.py").exists() and entry.migrations.parent == folder
    module, _, factory = entry.app.partition(":")
    assert module.split(".")[0] == entry.package and callable(getattr(importlib.import_module(module), factory))
    settings = importlib.import_module(f"{entry.package}.settings").load_settings()
    assert settings.model_config["env_prefix"] == entry.env_prefix and settings.port == entry.port
    assert entry.workers and entry.workers.split(".")[0] == entry.package


# ---------------------------------------------------------------- the gateway's route table and upstreams


def test_the_gateways_table_is_its_own_prefixes_plus_the_registrys() -> None:
    from gateway.edge.routes import LOCAL_PREFIXES, ROUTES, UPSTREAMS, RouteTable, build_routes

    assert ROUTES == build_routes(REGISTRY)
    proxied = {(r.prefix, r.service) for r in ROUTES if r.service is not None}
    declared = {(s.prefix, e.name) for e in REGISTRY for s in e.routes}
    declared |= {(f"/api/ingest/{kind}", e.name) for e in REGISTRY for kind in e.ingest}
    assert proxied == declared
    assert {r.prefix for r in ROUTES if r.service is None} == set(LOCAL_PREFIXES)
    assert UPSTREAMS == tuple(e.name for e in REGISTRY[1:])
    # rules come through as declared
    table = RouteTable(ROUTES)
    assert table.match("/api/sites/x").max_body_bytes == 16 * 1024 * 1024  # type: ignore[union-attr]
    scenario = table.match("/api/misc/scenario")
    assert scenario is not None and scenario.form_credentials and scenario.device_allowed
    meters = table.match("/meters/1")
    assert meters is not None and meters.service == "metering-service" and not meters.tenant_scoped
    door = table.match("/api/ingest/asset-statuses")
    assert door is not None and door.methods == frozenset({"POST"}) and door.device_allowed and door.timeout == 60.0


def test_a_new_entry_gets_its_routes_doors_and_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.edge import routes as routes_module
    from gateway.edge import upstreams
    from gateway.edge.routes import RouteTable, build_routes
    from gateway.settings import GatewaySettings

    registry = with_fake()
    table = RouteTable(build_routes(registry))
    assert table.match("/api/fake/1") is not None and table.match("/api/fake/1").service == "fake-service"  # type: ignore[union-attr]
    assert not table.match("/api/fake-open").tenant_scoped  # type: ignore[union-attr]
    big = table.match("/api/fake-big")
    assert big is not None and (big.max_body_bytes, big.timeout, big.methods) == (2_000_000, 5.0, frozenset({"POST"}))
    door = table.match("/api/ingest/fake-readings")
    assert door is not None and door.service == "fake-service" and door.device_allowed
    assert door.max_body_bytes is None  # the gateway's default limit
    bulk = table.match("/api/ingest/fake-bulk")
    assert bulk is not None and bulk.device_allowed and bulk.max_body_bytes == 9_000_000
    # upstream URLs: the registry port, the entry's own variable, or the upstreams setting
    monkeypatch.setattr(upstreams, "REGISTRY", registry)
    monkeypatch.setattr(upstreams, "UPSTREAMS", (*routes_module.UPSTREAMS, "fake-service"))
    monkeypatch.delenv("FAKE_PORT", raising=False)
    monkeypatch.delenv("GATEWAY_UPSTREAM_FAKE_SERVICE", raising=False)
    assert upstreams.upstream_urls(GatewaySettings())["fake-service"] == "http://127.0.0.1:8199"
    monkeypatch.setenv("FAKE_PORT", "8198")
    assert upstreams.upstream_urls(GatewaySettings())["fake-service"] == "http://127.0.0.1:8198"
    monkeypatch.setenv("GATEWAY_UPSTREAM_FAKE_SERVICE", "http://fake:1/")
    assert upstreams.upstream_urls(GatewaySettings())["fake-service"] == "http://fake:1"
    settings = GatewaySettings(upstreams={"fake-service": "http://other:2"})
    assert upstreams.upstream_urls(settings)["fake-service"] == "http://other:2"


def test_tags_follow_registry_order() -> None:
    from gateway.edge.openapi import TAG_SOURCE_ORDER, order_tags

    assert TAG_SOURCE_ORDER == (None, *(e.name for e in REGISTRY[1:]))
    paths = {"/a": {"get": {"tags": ["b-tag"]}}, "/b": {"get": {"tags": ["a-tag"]}}, "/c": {"get": {"tags": ["g"]}}}
    tags = [
        {"name": "b-tag", "x-source": REGISTRY[2].name},
        {"name": "a-tag", "x-source": REGISTRY[1].name},
        {"name": "g", "x-source": None},
    ]
    assert [t["name"] for t in order_tags(tags, paths)] == ["g", "a-tag", "b-tag"]


# ---------------------------------------------------------------- the build: Makefile, lint, pyproject


def _make(root: Path, *targets: str) -> str:
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(root), f"PYTHON={sys.executable}", *targets],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_installs_and_type_checks_what_the_registry_lists(tmp_path: Path) -> None:
    planned = _make(ROOT, "install", "lint")
    assert " ".join(f"-e ./{d}" for d in dists(REGISTRY)) in planned
    assert f"mypy {' '.join(mypy_paths(REGISTRY))}" in planned
    # a copy of the build files with one more entry: the new service is installed and checked
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "services.toml").write_text(REGISTRY_TEXT + FAKE)
    (tmp_path / "shared" / "gridcommons").mkdir(parents=True)
    for name in ("registry.py", "compose.py"):
        shutil.copy(ROOT / "shared" / "gridcommons" / name, tmp_path / "shared" / "gridcommons" / name)
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (
        "constraints.txt",
        "requirements-dev.txt",
        *(f"{d}/pyproject.toml" for d in [*dists(REGISTRY), "fake-service"]),
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    planned = _make(tmp_path, "install", "lint", "compose")
    assert "-e ./fake-service" in planned and "fake-service/fake_service" in planned
    # the Makefile's registry script runs with the standard library only, from any directory
    script = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "shared" / "gridcommons" / "registry.py"), "compose"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "fake-service-worker:" in script.stdout


def test_lint_knows_every_package_as_first_party() -> None:
    """ruff's source roots cover every registry folder: each package sorts as a first-party import."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert "known-first-party" not in config.get("lint", {}).get("isort", {}), "listed by hand: use the src roots"
    roots = [KERNEL_DIST, *(e.folder for e in REGISTRY)]
    assert all(any(fnmatch.fnmatch(root, pattern) for pattern in config["src"]) for root in roots), config["src"]
    assert not any(fnmatch.fnmatch("bench", pattern) for pattern in config["src"])
    assert not any(fnmatch.fnmatch(e.folder, "*-service") for e in REGISTRY if e.is_gateway)
    packages = sorted(first_party(REGISTRY))
    source = (
        "import yaml\n\n" + "".join(f"import {p}\n" for p in packages) + f"\nassert yaml and {' and '.join(packages)}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "I", "--stdin-filename", "tests/probe.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout  # third-party, then every workspace package as first-party
    # a folder outside the source roots would not be first-party: the probe tells
    unknown = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "I", "--stdin-filename", "tests/probe.py", "-"],
        input="import yaml\n\nimport not_a_workspace_package\n\nassert yaml and not_a_workspace_package\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert unknown.returncode == 1 and "I001" in unknown.stdout
    # the folder naming the registry relies on
    assert all(e.is_gateway or e.folder.endswith("-service") for e in with_fake())


def test_nothing_else_lists_the_services() -> None:
    """The files that used to list the services name none of them any more."""
    names = [e.name for e in REGISTRY[1:]] + [e.package for e in REGISTRY[1:]]
    for path in ("Makefile", "Dockerfile", "gateway/gateway/edge/routes.py", "gateway/gateway/edge/upstreams.py"):
        text = (ROOT / path).read_text()
        assert not [n for n in names if n in text], path
