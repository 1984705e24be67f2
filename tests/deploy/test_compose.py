"""docker-compose.yml against the registry (deploy/services.toml) and the settings classes.

No Docker engine is needed: the file is parsed and checked, and every settings class is built
from the environment its container would get.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from gridcommons.registry import ServiceEntry, load_registry
from gridcommons.settings import InfraSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT)
IDS = [e.name for e in REGISTRY]
INFRA_ENV = {
    "DATABASE_URL": "postgresql+asyncpg://gridcommons:gridcommons@postgres:5432/gridcommons",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "KAFKA_IDEMPOTENCE": "true",
}
INFRA_CONTAINERS = {"postgres", "kafka"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    env = container.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in env.items()}


def command_of(container: dict[str, Any]) -> list[str]:
    cmd = container.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd or []]


def mounted_paths(compose: dict[str, Any], container: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host file, for secrets and bind mounts."""
    paths: dict[str, Path] = {}
    for secret in container.get("secrets") or []:
        name, target = (secret, None) if isinstance(secret, str) else (secret["source"], secret.get("target"))
        target = target if target and target.startswith("/") else f"/run/secrets/{target or name}"
        paths[target] = ROOT / compose["secrets"][name]["file"]
    for volume in container.get("volumes") or []:
        if isinstance(volume, str) and volume.startswith((".", "/")):
            host, target = volume.split(":")[:2]
            paths[target] = ROOT / host
    return paths


def file_is_mounted(compose: dict[str, Any], container: dict[str, Any], path: str) -> bool:
    mounts = mounted_paths(compose, container)
    return any(path == target or path.startswith(target.rstrip("/") + "/") for target in mounts)


def settings_class(entry: ServiceEntry) -> type[ServiceSettings]:
    module = importlib.import_module(f"{entry.package}.settings")
    cls = module.load_settings.__annotations__["return"]
    cls = getattr(module, cls) if isinstance(cls, str) else cls
    assert issubclass(cls, ServiceSettings), cls
    return cls


def api_name(entry: ServiceEntry) -> str:
    return entry.name


def worker_name(entry: ServiceEntry) -> str:
    return f"{entry.name}-worker"


def app_containers(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: c for name, c in services.items() if name not in INFRA_CONTAINERS}


# ---------------------------------------------------------------- infrastructure


def test_kafka_runs_in_kraft_mode(services: dict[str, dict[str, Any]]) -> None:
    assert not any(
        "zookeeper" in name.lower() or "zookeeper" in str(c.get("image", "")).lower() for name, c in services.items()
    )
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of(kafka)
    assert not any("ZOOKEEPER" in k for k in env)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node_id}@kafka:")
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env["CLUSTER_ID"]
    # what the apps bootstrap from is what the broker advertises
    assert f"//{INFRA_ENV['KAFKA_BOOTSTRAP_SERVERS']}" in env["KAFKA_ADVERTISED_LISTENERS"]
    # one node: internal topics cannot have more than one replica
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert "healthcheck" in kafka


def test_postgres_17_matches_database_url(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:17(\.\d+)?(-\w+)?", pg["image"]), pg["image"]
    env = env_of(pg)
    user, password, db = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    assert INFRA_ENV["DATABASE_URL"] == f"postgresql+asyncpg://{user}:{password}@postgres:5432/{db}"
    assert "healthcheck" in pg
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])


# ---------------------------------------------------------------- the registry's processes


def test_every_app_container_uses_the_shared_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    images = set()
    for name, c in app_containers(services).items():
        build = c.get("build")
        assert build is not None, f"{name} is not built from the repository"
        context, dockerfile = (
            (build, "Dockerfile")
            if isinstance(build, str)
            else (build["context"], build.get("dockerfile", "Dockerfile"))
        )
        assert (Path(context), dockerfile) == (Path("."), "Dockerfile"), name
        images.add(c.get("image"))
    assert len(images) == 1, images  # one image, many commands


def test_every_app_container_gets_the_infrastructure(services: dict[str, dict[str, Any]]) -> None:
    for name, c in app_containers(services).items():
        env = env_of(c)
        for key, value in INFRA_ENV.items():
            assert env.get(key) == value, (name, key, env.get(key))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_api_container(entry: ServiceEntry, services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    c = services[api_name(entry)]
    assert command_of(c) == ["uvicorn", entry.app, "--factory", "--host", "0.0.0.0", "--port", str(entry.port)]
    env = env_of(c)
    prefix = settings_class(entry).model_config["env_prefix"]
    assert env[f"{prefix}HOST"] == "0.0.0.0"
    assert env[f"{prefix}PORT"] == str(entry.port)
    assert entry.port_env == f"{prefix}PORT"  # the registry's override variable is the settings' own
    # readiness on its own port
    test = c["healthcheck"]["test"]
    assert f"127.0.0.1:{entry.port}/readyz" in " ".join(test)
    # the internal identity can be verified
    key_file = env["INTERNAL_IDENTITY_PUBLIC_KEY_FILE"]
    assert file_is_mounted(compose, c, key_file), key_file
    depends = c["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["kafka"]["condition"] == "service_healthy"
    if entry.name != "gateway":
        assert "ports" not in c, "services are reached through the gateway only"


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_worker_container(entry: ServiceEntry, services: dict[str, dict[str, Any]]) -> None:
    assert entry.workers, entry
    c = services[worker_name(entry)]
    assert command_of(c) == ["python", "-m", "gridcommons.worker", entry.workers]
    assert "ports" not in c
    # readiness from the worker's own health endpoint (gridcommons.worker, WORKER_HEALTH_PORT)
    port = env_of(c)["WORKER_HEALTH_PORT"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(c["healthcheck"]["test"])
    depends = c["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["kafka"]["condition"] == "service_healthy"
    # the worker's module exposes what gridcommons.worker calls
    module_name, _, attr = entry.workers.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        pytest.fail(f"{entry.workers}: {exc}")
    assert callable(getattr(module, attr)) and callable(module.load_settings)


def test_no_unknown_app_containers(services: dict[str, dict[str, Any]]) -> None:
    expected = {"migrate"} | {api_name(e) for e in REGISTRY} | {worker_name(e) for e in REGISTRY}
    assert set(app_containers(services)) == expected


def test_migrate_is_one_shot_and_first(services: dict[str, dict[str, Any]]) -> None:
    m = services["migrate"]
    assert command_of(m) == ["python", "-m", "gridcommons.stack", "migrate"]
    assert m.get("restart") == "no"
    assert m["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_gateway_upstreams_keys_and_exposure(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    gw = services["gateway"]
    env = env_of(gw)
    for entry in REGISTRY:
        if entry.name == "gateway":
            continue
        var = "GATEWAY_UPSTREAM_" + entry.name.upper().replace("-", "_")
        assert env.get(var) == f"http://{entry.name}:{entry.port}", var
        assert gw["depends_on"][entry.name]["condition"] == "service_healthy"
    for var in ("GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY_FILE", "GATEWAY_TOKEN_PRIVATE_KEY_FILE"):
        assert file_is_mounted(compose, gw, env[var]), var
    assert any(str(p).split(":")[-1] == "8000" for p in gw["ports"])


def test_private_keys_only_reach_the_gateway(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    for name, c in app_containers(services).items():
        for target, host in mounted_paths(compose, c).items():
            if "private" in host.name:
                assert name == "gateway", (name, target)


def test_secrets_come_from_deploy_secrets(compose: dict[str, Any]) -> None:
    for name, secret in compose["secrets"].items():
        path = (ROOT / secret["file"]).resolve()
        assert path.parent == (ROOT / "deploy" / "secrets").resolve(), name


# ---------------------------------------------------------------- settings are satisfiable


def container_settings(cls: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build ``cls`` the way the container would: from exactly ``env`` (the test process's own
    settings variables removed, so that e.g. an inline key cannot mask a missing *_FILE)."""
    prefixes = tuple({str(settings_class(e).model_config["env_prefix"]) for e in REGISTRY})
    infra_names = {name.upper() for name in InfraSettings.model_fields}
    for key in list(os.environ):
        if key.startswith(prefixes) or key in infra_names:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return cls()


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_settings_from_the_container_environment(
    entry: ServiceEntry, services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = settings_class(entry)
    env = env_of(services[api_name(entry)])
    prefix = cls.model_config["env_prefix"]
    # every variable with this service's prefix names a field of its settings class
    fields = {name.upper() for name in cls.model_fields}
    for key in env:
        if key.startswith(prefix):
            assert key[len(prefix) :] in fields, f"{key} is read by nobody"
    settings = container_settings(cls, env, monkeypatch)
    assert settings.host == "0.0.0.0" and settings.port == entry.port
    assert settings.infra.database_url == INFRA_ENV["DATABASE_URL"]
    assert settings.infra.kafka_bootstrap_servers == "kafka:9092"
    assert settings.infra.kafka_idempotence is True
    assert settings.infra.internal_identity_public_key is None
    assert str(settings.infra.internal_identity_public_key_file) == env["INTERNAL_IDENTITY_PUBLIC_KEY_FILE"]
    if entry.name == "gateway":
        assert settings.token_private_key is None and settings.internal_identity_private_key is None
        assert str(settings.token_private_key_file) == env["GATEWAY_TOKEN_PRIVATE_KEY_FILE"]
        assert str(settings.internal_identity_private_key_file) == env["GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY_FILE"]
        for other in REGISTRY:
            if other.name != "gateway":
                field = "upstream_" + other.name.replace("-", "_")
                assert getattr(settings, field) == f"http://{other.name}:{other.port}", field


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_worker_settings_from_the_container_environment(
    entry: ServiceEntry, services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module((entry.workers or "").partition(":")[0])
    env = env_of(services[worker_name(entry)])
    cls = type(module.load_settings())
    settings = container_settings(cls, env, monkeypatch)
    assert settings.infra.database_url == INFRA_ENV["DATABASE_URL"]
    assert settings.infra.kafka_idempotence is True


# ---------------------------------------------------------------- the image


def test_dockerfile_installs_every_distribution() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    makefile = (ROOT / "Makefile").read_text()
    dists = re.search(r"^DISTS\s*:=\s*(.+)$", makefile, re.M)
    assert dists
    install = dockerfile[dockerfile.index("COPY . .") :]
    assert "-c constraints.txt" in install
    for dist in dists.group(1).split():
        assert f"-e ./{dist}" in install, dist
    for entry in REGISTRY:
        assert entry.migrations.relative_to(ROOT).parts[0] in dists.group(1).split()


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"deploy/secrets", ".git", ".venv", ".data"} <= ignored
    for needed in ("deploy/services.toml", "constraints.txt", "shared", "asset-service"):
        assert needed not in ignored
