"""docker-compose.yml against the registry (deploy/services.toml) and the settings classes.

The file is generated from the registry (``python -m gridcommons.registry compose``): the committed
file must be the generator's output, and the generated text is checked for what it must contain.
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

from gridcommons.compose import render
from gridcommons.registry import ServiceEntry, load_registry
from gridcommons.settings import InfraSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT)
IDS = [e.name for e in REGISTRY]
INFRA_ENV = {
    "DATABASE_URL": "postgresql+asyncpg://gridcommons:gridcommons@postgres:5432/gridcommons",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "KAFKA_IDEMPOTENCE": "true",
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_PASSWORD_FILE": "/run/secrets/kafka_password",
}
INFRA_CONTAINERS = {"postgres", "kafka", "kafka-setup"}
SETUP_SCRIPT = ROOT / "deploy" / "kafka" / "setup.sh"


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


# ---------------------------------------------------------------- generated from the registry


def test_committed_file_is_the_registrys() -> None:
    committed = (ROOT / "docker-compose.yml").read_text()
    assert committed == render(REGISTRY), (
        "docker-compose.yml differs from the registry: run `make compose` (python -m gridcommons.registry compose)"
    )


def test_a_new_registry_entry_gets_its_containers_and_principal() -> None:
    text = (ROOT / "deploy" / "services.toml").read_text() + (
        '\n[[service]]\nname = "fake-service"\npackage = "fake_service"\napp = "fake_service.app:create_app"\n'
        'port = 8199\nport_env = "FAKE_PORT"\nmigrations = "fake-service/migrations"\n'
        'workers = "fake_service.workers:build"\ntopic_prefix = "fake."\nroutes = [{ prefixes = ["/api/fake"] }]\n'
    )
    entries = load_registry(ROOT, text=text)
    rendered = render(entries)
    assert rendered != (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(rendered)["services"]
    assert command_of(services["fake-service"])[1] == "fake_service.app:create_app"
    assert command_of(services["fake-service-worker"])[-1] == "fake_service.workers:build"
    assert env_of(services["gateway"])["GATEWAY_UPSTREAM_FAKE_SERVICE"] == "http://fake-service:8199"
    assert services["gateway"]["depends_on"]["fake-service"] == {"condition": "service_healthy"}
    assert "fake-service=fake." in command_of(services["kafka-setup"])


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
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node_id}@127.0.0.1:")
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
    # --no-proxy-headers: uvicorn must not believe X-Forwarded-For from loopback peers (the gateway
    # applies GATEWAY_TRUSTED_PROXIES itself)
    assert command_of(c) == [
        "uvicorn",
        entry.app,
        "--factory",
        "--host",
        "0.0.0.0",
        "--port",
        str(entry.port),
        "--no-proxy-headers",
    ]
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
        var = entry.upstream_env
        assert var == "GATEWAY_UPSTREAM_" + entry.name.upper().replace("-", "_")
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


# ---------------------------------------------------------------- Kafka security (SASL/SCRAM, ACLs)


def listeners(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Listener name -> (address, security protocol)."""
    protocols = dict(item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    out = {}
    for item in env["KAFKA_LISTENERS"].split(","):
        name, _, address = item.partition("://")
        out[name] = (address, protocols[name])
    return out


def setup_calls(services: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The calls deploy/kafka/setup.sh makes: its top-level ``device NAME`` lines, and one
    ``service NAME PREFIX`` per ``NAME=PREFIX`` argument compose gives it."""
    calls = []
    for line in SETUP_SCRIPT.read_text().splitlines():
        if line.startswith("device "):
            calls.append(shlex.split(line, comments=True))
    command = command_of(services["kafka-setup"])
    assert command[:2] == ["/bin/bash", "/opt/gridcommons/kafka/setup.sh"]
    for arg in command[2:]:
        name, _, prefix = arg.partition("=")
        calls.append(["service", name, prefix])
    assert 'service "${entry%%=*}" "${entry#*=}"' in SETUP_SCRIPT.read_text()
    return calls


def setup_script_function(name: str) -> str:
    text = SETUP_SCRIPT.read_text()
    start = text.index(f"\n{name}() {{")
    return text[start : text.index("\n}", start)]


def test_kafka_authenticates_every_client_with_scram(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    kafka = services["kafka"]
    env = env_of(kafka)
    found = listeners(env)
    for name, (address, protocol) in found.items():
        if protocol == "PLAINTEXT":
            # only the controller listener, bound to the container's loopback
            assert name in env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",") and address.startswith("127.0.0.1:"), name
        else:
            assert protocol in ("SASL_PLAINTEXT", "SASL_SSL"), (name, protocol)
    advertised = {item.partition("://")[0] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    assert all(found[name][1].startswith("SASL") for name in advertised), advertised
    assert found[env["KAFKA_INTER_BROKER_LISTENER_NAME"]][1].startswith("SASL")
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "SCRAM-SHA-512"
    assert command_of(kafka) == ["/bin/bash", "/opt/gridcommons/kafka/start.sh"]
    assert mounted_paths(compose, kafka)["/opt/gridcommons/kafka"] == ROOT / "deploy" / "kafka"
    assert "/run/secrets/kafka_admin_password" in mounted_paths(compose, kafka)
    start = (ROOT / "deploy" / "kafka" / "start.sh").read_text()
    assert "--add-scram" in start and "listener.name.internal.scram-sha-512.sasl.jaas.config" in start
    assert "--command-config" in " ".join(kafka["healthcheck"]["test"])
    # the broker stamps record times: ingestion credentials are judged at append time
    assert env["KAFKA_LOG_MESSAGE_TIMESTAMP_TYPE"] == "LogAppendTime"


def test_kafka_refuses_what_no_acl_allows(services: dict[str, dict[str, Any]]) -> None:
    env = env_of(services["kafka"])
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {
        "User:admin",
        "User:ANONYMOUS",
    }  # ANONYMOUS: loopback controller


def test_every_service_is_its_own_principal(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    declared = {words[1]: words for words in setup_calls(services) if words[0] == "service"}
    assert declared == {e.name: ["service", e.name, e.topic_prefix] for e in REGISTRY}
    setup = services["kafka-setup"]
    assert setup["restart"] == "no" and setup["depends_on"]["kafka"]["condition"] == "service_healthy"
    setup_secrets = mounted_paths(compose, setup)
    for entry in REGISTRY:
        assert f"/run/secrets/kafka_{entry.name}_password" in setup_secrets
        for container in (services[api_name(entry)], services[worker_name(entry)]):
            env = env_of(container)
            assert env["KAFKA_SASL_USERNAME"] == entry.name
            mounts = mounted_paths(compose, container)
            assert mounts[env["KAFKA_SASL_PASSWORD_FILE"]].name == f"kafka_{entry.name}.password"
            # no container sees another principal's password
            assert not any(
                p.name.startswith("kafka_") and p.name != f"kafka_{entry.name}.password" for p in mounts.values()
            )
            assert container["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"
    prefixes = [words[2] for words in declared.values()]
    assert len(set(prefixes)) == len(prefixes) and not any(p.startswith("ingest") for p in prefixes)


def test_devices_may_only_produce_to_ingestion_topics(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    devices = [words for words in setup_calls(services) if words[0] == "device"]
    assert devices == [["device", "device"]]
    assert "/run/secrets/kafka_device_password" in mounted_paths(compose, services["kafka-setup"])
    body = setup_script_function("device").replace("\\\n", " ")
    grants = [shlex.split(line) for line in body.splitlines() if line.strip().startswith("allow ")]
    assert grants, "the device function grants nothing"
    for words in grants:
        operations = {words[i + 1] for i, w in enumerate(words) if w == "--operation"}
        if "--cluster" in words:
            assert operations == {"IdempotentWrite"}
            continue
        assert operations <= {"Write", "Describe"}, operations
        assert words[words.index("--resource-pattern-type") + 1] == "prefixed"
        assert words[words.index("--topic") + 1] == "ingest."
        assert "--group" not in words
    # and nobody but a service reads: Read is granted in the service function only
    text = SETUP_SCRIPT.read_text()
    read_lines = [line for line in text.splitlines() if "--operation Read" in line]
    assert read_lines and all(line in setup_script_function("service") for line in read_lines)


def test_services_verify_ingestion_credentials_with_the_gateways_keys(services: dict[str, dict[str, Any]]) -> None:
    for entry in REGISTRY:
        env = env_of(services[worker_name(entry)])
        assert env["TOKEN_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"


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
    # every variable with this service's prefix names a field of its settings class (or, for the
    # gateway, a registry entry's upstream variable, read by gateway.edge.upstreams)
    fields = {name.upper() for name in cls.model_fields}
    upstream_vars = {e.upstream_env for e in REGISTRY}
    for key in env:
        if key.startswith(prefix):
            assert key[len(prefix) :] in fields or key in upstream_vars, f"{key} is read by nobody"
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
        from gateway.edge.upstreams import upstream_urls

        assert upstream_urls(settings) == {o.name: f"http://{o.name}:{o.port}" for o in REGISTRY if o.name != "gateway"}


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
    assert settings.infra.kafka_sasl_username == entry.name
    assert str(settings.infra.kafka_sasl_password_file) == "/run/secrets/kafka_password"
    assert settings.infra.token_jwks_url == "http://gateway:8000/.well-known/jwks.json"


async def test_kafka_clients_get_the_sasl_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """gridcommons.kafka builds every client with the container's SASL settings."""
    from gridcommons.kafka import make_consumer, make_producer, security_options

    secret = tmp_path / "kafka_password"
    secret.write_text("s3cret\n")
    infra = InfraSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="asset-service",
        kafka_sasl_password_file=secret,
    )
    assert security_options(infra) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "asset-service",
        "sasl_plain_password": "s3cret",
    }
    producer = make_producer(infra, client_id="t")
    consumer = make_consumer(infra, "ingest.x", group_id="g", client_id="t")
    for client in (producer.client, consumer._client):
        assert (client._security_protocol, client._sasl_mechanism, client._sasl_plain_username) == (
            "SASL_PLAINTEXT",
            "SCRAM-SHA-512",
            "asset-service",
        )
    assert security_options(InfraSettings(kafka_security_protocol="PLAINTEXT")) == {}
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        security_options(InfraSettings(kafka_security_protocol="SASL_SSL"))


# ---------------------------------------------------------------- the image


def test_dockerfile_installs_every_distribution() -> None:
    """The image installs what the registry lists (the script's output), and lists nothing itself."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    install = dockerfile[dockerfile.index("COPY . .") :]
    assert "pip install -c constraints.txt $(python shared/gridcommons/registry.py editables)" in install
    assert not [e.name for e in REGISTRY if f"./{e.folder}" in dockerfile]
    for entry in REGISTRY:
        assert entry.migrations.relative_to(ROOT).parts[0] == entry.folder


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"deploy/secrets", ".git", ".venv", ".data"} <= ignored
    for needed in ("deploy/services.toml", "constraints.txt", "shared", "asset-service"):
        assert needed not in ignored
