"""Settings: infrastructure addresses shared by every process, plus one prefix per service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InfraSettings(BaseSettings):
    """Addresses of the shared infrastructure. Read without prefix: DATABASE_URL, KAFKA_*."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/gridcommons"
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # Tansu (the embedded broker) refuses InitProducerId v0, so idempotence is a setting:
    # on for Apache Kafka, off for the embedded stack.
    kafka_idempotence: bool = False
    # Small fetch wait: Tansu answers a parked fetch only when the wait ends (measured:
    # e2e p50 9 ms at 10 ms, 254 ms at aiokafka's 500 ms default).
    kafka_fetch_max_wait_ms: int = 10
    # Replication of topics the platform creates itself (consumers' input topics): 1 on one broker.
    kafka_replication_factor: int = 1
    # Public key (PEM) of the gateway's internal identity signer, inline or from a file.
    internal_identity_public_key: str | None = None
    internal_identity_public_key_file: Path | None = None
    db_pool_size: int = 5
    db_max_overflow: int = 5
    log_level: str = "INFO"

    def identity_public_key_pem(self) -> str | None:
        if self.internal_identity_public_key:
            return self.internal_identity_public_key
        if self.internal_identity_public_key_file:
            # A configured file that is missing is a deployment error: fail at start-up, loudly.
            return self.internal_identity_public_key_file.read_text()
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
