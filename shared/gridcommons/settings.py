"""Settings: infrastructure addresses shared by every process, plus one prefix per service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .keys import read_pem


class InfraSettings(BaseSettings):
    """Addresses of the shared infrastructure. Read without prefix: DATABASE_URL, KAFKA_*."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/gridcommons"
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # Tansu (the embedded broker) refuses InitProducerId v0, so idempotence is a setting:
    # on for Apache Kafka, off for the embedded stack.
    kafka_idempotence: bool = False
    # Consumers' long poll: Apache Kafka holds an empty fetch this long and answers as soon as a
    # message arrives (fetch_min_bytes=1), so an idle consumer makes two fetches a second. The
    # embedded broker answers only when the wait ends: make run and the tests set 100
    # (devstack.EmbeddedBroker.client_env; bench/README.md "broker_fetch_wait").
    kafka_fetch_max_wait_ms: int = 500
    # The most one fetch takes from one partition. aiokafka's default (1 MiB) holds about ten
    # ingestion messages of 100 reports, so a batch-mode consumer committed ~1,000 reports per
    # transaction whatever its batch size; 16 MiB lets a batch fill (bench/README.md "deal_ingest").
    kafka_max_partition_fetch_bytes: int = Field(default=16 * 1024 * 1024, ge=1024 * 1024)
    # Replication of topics the platform creates itself (consumers' input topics): 1 on one broker.
    kafka_replication_factor: int = 1
    # Broker security (production Apache Kafka, see deploy/README.md "Kafka security"): PLAINTEXT
    # (the loopback-only embedded broker), SASL_PLAINTEXT or SASL_SSL; SCRAM-SHA-512 by default,
    # one principal per service. KAFKA_SSL_CAFILE: CA bundle for SASL_SSL (system CAs if unset).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    # Public key (PEM) of the gateway's internal identity signer, inline or from a file.
    internal_identity_public_key: str | None = None
    internal_identity_public_key_file: Path | None = None
    # The gateway's bearer-token keys, for the credential on Kafka ingestion messages
    # (gridcommons.bearer): the public key as PEM (inline or file) and/or the gateway's JWKS URL.
    token_public_key: str | None = None
    token_public_key_file: Path | None = None
    token_jwks_url: str | None = None
    token_jwks_min_refresh_seconds: float = 30.0
    # Must equal the gateway's GATEWAY_TOKEN_ISSUER / GATEWAY_TOKEN_AUDIENCE.
    token_issuer: str = "gridcommons-gateway"
    token_audience: str = "gridcommons-api"
    # How long after its token expired an ingestion message that waited in Kafka is still applied,
    # when the token was valid at the broker's append time (LogAppendTime). See gridcommons.ingest.
    ingest_token_grace_seconds: float = 21_600.0
    # Housekeeping of the kernel tables, done by each schema's active outbox relay (shared/README.md
    # "Bounded kernel tables"): published outbox rows are kept this long (replay, debugging a
    # consumer), processed_events entries (the consumers' dedup log) this long: longer than any
    # redelivery can be (Kafka retention of the input topics and consumer-group offset retention,
    # 7 days each by default, plus an outbox replay of up to outbox_retention_seconds).
    # Unpublished outbox rows are never removed.
    outbox_retention_seconds: float = Field(default=7 * 86_400.0, gt=0)
    processed_events_retention_seconds: float = Field(default=14 * 86_400.0, gt=0)
    # How often the relay prunes (seconds), and rows per DELETE statement (one short transaction each).
    kernel_prune_interval_seconds: float = Field(default=60.0, gt=0)
    kernel_prune_batch_size: int = Field(default=5_000, gt=0)
    db_pool_size: int = 5
    db_max_overflow: int = 5
    log_level: str = "INFO"

    def identity_public_key_pem(self) -> str | None:
        """A configured file that is missing or unreadable stops start-up (``KeyConfigError``)."""
        return read_pem(
            "INTERNAL_IDENTITY_PUBLIC_KEY", self.internal_identity_public_key, self.internal_identity_public_key_file
        )

    def token_public_key_pem(self) -> str | None:
        """A configured file that is missing or unreadable stops start-up (``KeyConfigError``)."""
        return read_pem("TOKEN_PUBLIC_KEY", self.token_public_key, self.token_public_key_file)

    def kafka_sasl_secret(self) -> str | None:
        if self.kafka_sasl_password:
            return self.kafka_sasl_password
        if self.kafka_sasl_password_file:
            return self.kafka_sasl_password_file.read_text().strip()
        return None


class ServiceSettings(BaseSettings):
    """Base of each service's settings; subclasses set ``env_prefix`` (e.g. ``ASSET_``)."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8001
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1_048_576
    # Operations endpoints (shared/README.md "Operations endpoints"): /metrics answers only direct
    # peers in ops_allow_from (IP addresses or CIDR networks; default loopback); a service's
    # /openapi.json and /docs answer those peers, the gateway (internal identity) and, with
    # public_docs, anyone.
    ops_allow_from: list[str] = ["127.0.0.1", "::1"]
    public_docs: bool = False
    infra: InfraSettings = Field(default_factory=InfraSettings)
