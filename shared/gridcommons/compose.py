"""``docker-compose.yml`` rendered from the registry (``python -m gridcommons.registry compose``).

Infrastructure (PostgreSQL, Kafka in KRaft mode with SASL/SCRAM and ACLs, the one-shot Kafka setup
and migrations) is fixed text; every registry entry adds an API container and a worker container,
its Kafka principal (password secret, ``setup.sh`` argument) and, for the gateway, its upstream
variables. ``tests/deploy/test_compose.py`` checks that the committed file is this output.
Standard library only (run as a script before anything is installed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import ServiceEntry

HEADER = """\
# GENERATED from deploy/services.toml by `python -m gridcommons.registry compose > docker-compose.yml`;
# edit the registry or shared/gridcommons/compose.py, not this file.
#
# GridCommons, production-like: Apache Kafka (KRaft, single node, SASL/SCRAM and ACLs),
# PostgreSQL 17, and every process of deploy/services.toml (the gateway and each service: one API
# container and one worker container), all from the one image built by ./Dockerfile.
#
#   python -m gridcommons.stack keys deploy/secrets   # once: Ed25519 key pairs, Kafka passwords (deploy/README.md)
#   docker compose up --build
#   curl http://127.0.0.1:8000/readyz                 # only the gateway is published on the host
#
# Kubernetes equivalents and every environment variable: deploy/README.md.
# tests/deploy/test_compose.py checks this file against the registry and the settings classes.

"""

INFRASTRUCTURE = """\
name: gridcommons

x-app: &app
  build:
    context: .
    dockerfile: Dockerfile
  image: gridcommons:local
  restart: unless-stopped
  # Infrastructure addresses shared by every process (gridcommons.settings.InfraSettings).
  environment: &infra-env
    DATABASE_URL: postgresql+asyncpg://gridcommons:gridcommons@postgres:5432/gridcommons
    KAFKA_BOOTSTRAP_SERVERS: kafka:9092
    KAFKA_IDEMPOTENCE: "true"
    # Each service is its own Kafka principal (KAFKA_SASL_USERNAME per container, password file
    # mounted at /run/secrets/kafka_password); ACLs in deploy/kafka/setup.sh.
    KAFKA_SECURITY_PROTOCOL: SASL_PLAINTEXT
    KAFKA_SASL_MECHANISM: SCRAM-SHA-512
    KAFKA_SASL_PASSWORD_FILE: /run/secrets/kafka_password
    # Kafka ingestion credentials are verified with the gateway's published keys.
    TOKEN_JWKS_URL: http://gateway:8000/.well-known/jwks.json
    LOG_LEVEL: INFO

# The gateway's public key, for every process that verifies the internal identity; where the other
# services' internal APIs are (gridcommons.internal_client: a call relays the caller's identity).
x-api-env: &api-env
  <<: *infra-env
  INTERNAL_IDENTITY_PUBLIC_KEY_FILE: /run/secrets/internal_identity_public_key
@INTERNAL_URLS@
x-depends-infra: &depends-infra
  postgres:
    condition: service_healthy
  kafka:
    condition: service_healthy
  kafka-setup:
    condition: service_completed_successfully
  migrate:
    condition: service_completed_successfully

x-healthcheck: &healthcheck
  interval: 10s
  timeout: 5s
  retries: 6
  start_period: 20s

services:
  # ---------------------------------------------------------------- infrastructure
  postgres:
    image: postgres:17
    restart: unless-stopped
    environment:
      POSTGRES_USER: gridcommons
      POSTGRES_PASSWORD: gridcommons
      POSTGRES_DB: gridcommons
    volumes:
      - postgres-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U gridcommons -d gridcommons"]
      interval: 5s
      timeout: 5s
      retries: 12

  kafka:
    image: apache/kafka:3.9.1
    restart: unless-stopped
    # Writes server.properties from the KAFKA_* variables below plus the broker's SCRAM login,
    # formats the storage with the admin's SCRAM credential on first start, runs the broker.
    command: ["/bin/bash", "/opt/gridcommons/kafka/start.sh"]
    environment:
      # KRaft, one node acting as broker and controller (no ZooKeeper).
      CLUSTER_ID: 4L6g3nShT-eMCtK--X86sw
      KAFKA_NODE_ID: 1
      KAFKA_PROCESS_ROLES: broker,controller
      # The controller listener is plaintext and reachable only inside this container (loopback).
      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@127.0.0.1:9093
      KAFKA_LISTENERS: INTERNAL://:9092,CONTROLLER://127.0.0.1:9093
      KAFKA_ADVERTISED_LISTENERS: INTERNAL://kafka:9092
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER
      KAFKA_INTER_BROKER_LISTENER_NAME: INTERNAL
      # Every client authenticates with SASL/SCRAM-SHA-512 (principals: deploy/kafka/setup.sh).
      KAFKA_SASL_ENABLED_MECHANISMS: SCRAM-SHA-512
      KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL: SCRAM-SHA-512
      # ACLs: what no ACL allows is refused. Super users: the broker's own admin principal and the
      # loopback-only controller listener (ANONYMOUS there; unreachable from other containers).
      KAFKA_AUTHORIZER_CLASS_NAME: org.apache.kafka.metadata.authorizer.StandardAuthorizer
      KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: "false"
      KAFKA_SUPER_USERS: User:admin;User:ANONYMOUS
      # Record timestamps are the broker's append time: an ingestion credential is judged at that
      # instant, which a producer cannot forge (gridcommons.ingest).
      KAFKA_LOG_MESSAGE_TIMESTAMP_TYPE: LogAppendTime
      KAFKA_LOG_DIRS: /var/lib/kafka/data
      # A single node: every internal topic has one replica.
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: 1
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1
      KAFKA_MIN_INSYNC_REPLICAS: 1
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: 0
      # Topics appear on first use with 6 partitions (consumer groups spread over them), for the
      # principals allowed to create them; a real cluster creates them explicitly with replication
      # factor 3.
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "true"
      KAFKA_NUM_PARTITIONS: 6
    volumes:
      - kafka-data:/var/lib/kafka/data
      - ./deploy/kafka:/opt/gridcommons/kafka:ro
    secrets:
      - kafka_admin_password
    healthcheck:
      test: ["CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server kafka:9092 --command-config /tmp/gridcommons-kafka/admin.properties > /dev/null 2>&1"]
      interval: 10s
      timeout: 10s
      retries: 12
      start_period: 20s

"""

MIGRATE = """\
  # One-shot: every service's Alembic migrations (deploy/services.toml), then exit 0.
  migrate:
    <<: *app
    restart: "no"
    command: ["python", "-m", "gridcommons.stack", "migrate"]
    environment:
      <<: *infra-env
    depends_on:
      postgres:
        condition: service_healthy

"""

SECRETS = """\
# Written by `python -m gridcommons.stack keys deploy/secrets`; never commit them, never bake them
# into the image (.dockerignore). Each container sees only the keys it needs, at /run/secrets/<name>.
secrets:
  internal_identity_private_key:
    file: ./deploy/secrets/internal_identity_private.pem
  internal_identity_public_key:
    file: ./deploy/secrets/internal_identity_public.pem
  token_private_key:
    file: ./deploy/secrets/token_private.pem
  # Kafka SCRAM passwords, one per principal; each container sees only its own.
  kafka_admin_password:
    file: ./deploy/secrets/kafka_admin.password
  kafka_device_password:
    file: ./deploy/secrets/kafka_device.password
"""

VOLUMES = """\
volumes:
  postgres-data:
  kafka-data:
"""


# A worker's /healthz and /readyz (gridcommons.worker): the same port in every worker container.
WORKER_HEALTH_PORT = 8200


def _healthcheck(port: int) -> list[str]:
    return [
        "    healthcheck:",
        "      <<: *healthcheck",
        '      test: ["CMD", "python", "-c", "import urllib.request; '
        f"urllib.request.urlopen('http://127.0.0.1:{port}/readyz', timeout=4)\"]",
    ]


def _kafka_setup(entries: list[ServiceEntry]) -> list[str]:
    args = "".join(f', "{e.name}={e.topic_prefix}"' for e in entries)
    lines = [
        "  # One-shot: the SCRAM credentials of the devices and of every service, and their ACLs",
        "  # (arguments: <principal = registry name>=<prefix of the topics it publishes>).",
        "  kafka-setup:",
        "    image: apache/kafka:3.9.1",
        '    restart: "no"',
        f'    command: ["/bin/bash", "/opt/gridcommons/kafka/setup.sh"{args}]',
        "    volumes:",
        "      - ./deploy/kafka:/opt/gridcommons/kafka:ro",
        "    secrets:",
        "      - kafka_admin_password",
        "      - kafka_device_password",
    ]
    lines += [f"      - kafka_{e.name}_password" for e in entries]
    lines += ["    depends_on:", "      kafka:", "        condition: service_healthy", ""]
    return lines


def _api(entry: ServiceEntry, upstreams: list[ServiceEntry]) -> list[str]:
    lines = [
        f"  {entry.name}:",
        "    <<: *app",
        f'    command: ["uvicorn", "{entry.app}", "--factory", "--host", "0.0.0.0", "--port", "{entry.port}", '
        '"--no-proxy-headers"]',
    ]
    if entry.is_gateway:
        lines += ["    ports:", f'      - "{entry.port}:{entry.port}"']
    lines += [
        "    environment:",
        "      <<: *api-env",
        f"      {entry.env_prefix}HOST: 0.0.0.0",
        f'      {entry.port_env}: "{entry.port}"',
        f"      KAFKA_SASL_USERNAME: {entry.name}",
    ]
    if entry.is_gateway:
        lines += [
            "      GATEWAY_TOKEN_PRIVATE_KEY_FILE: /run/secrets/token_private_key",
            "      GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY_FILE: /run/secrets/internal_identity_private_key",
        ]
        lines += [f"      {u.upstream_env}: http://{u.name}:{u.port}" for u in upstreams]
    lines.append("    secrets:")
    if entry.is_gateway:
        lines += ["      - token_private_key", "      - internal_identity_private_key"]
    lines += [
        "      - internal_identity_public_key",
        f"      - {{source: kafka_{entry.name}_password, target: kafka_password}}",
    ]
    lines += _healthcheck(entry.port)
    if entry.is_gateway:
        lines += ["    depends_on:", "      <<: *depends-infra"]
        for u in upstreams:
            lines += [f"      {u.name}:", "        condition: service_healthy"]
    else:
        lines.append("    depends_on: *depends-infra")
    return [*lines, ""]


def _worker(entry: ServiceEntry) -> list[str]:
    return [
        f"  {entry.name}-worker:",
        "    <<: *app",
        f'    command: ["python", "-m", "gridcommons.worker", "{entry.workers}"]',
        "    environment:",
        "      <<: *infra-env",
        f"      KAFKA_SASL_USERNAME: {entry.name}",
        f'      WORKER_HEALTH_PORT: "{WORKER_HEALTH_PORT}"',
        "    secrets:",
        f"      - {{source: kafka_{entry.name}_password, target: kafka_password}}",
        *_healthcheck(WORKER_HEALTH_PORT),
        "    depends_on: *depends-infra",
        "",
    ]


def render(entries: list[ServiceEntry]) -> str:
    """The whole compose file for these registry entries (the first is the gateway)."""
    gateway, services = entries[0], entries[1:]
    upstreams = [e for e in services if e.routes or e.ingest]
    lines: list[str] = _kafka_setup(entries)
    internal_urls = "".join(f"  {e.internal_url_env}: http://{e.name}:{e.port}\n" for e in services)
    body = [HEADER, INFRASTRUCTURE.replace("@INTERNAL_URLS@", internal_urls), "\n".join(lines) + "\n", MIGRATE]
    for title, group in (("gateway", [gateway]), ("services", services)):
        lines = [f"  # ---------------------------------------------------------------- {title}"]
        for entry in group:
            lines += _api(entry, upstreams)
            if entry.workers:
                lines += _worker(entry)
        body.append("\n".join(lines) + "\n")
    lines = [f"  kafka_{e.name}_password:\n    file: ./deploy/secrets/kafka_{e.name}.password" for e in entries]
    body += [SECRETS, "\n".join(lines) + "\n\n", VOLUMES]
    return "".join(body)
