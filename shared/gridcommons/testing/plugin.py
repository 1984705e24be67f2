"""pytest plugin: the real PostgreSQL and Kafka-protocol broker, once per test session.

With ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` set, those are used; otherwise an embedded
PostgreSQL (in a temporary directory) and an embedded Tansu broker are started on free ports.
Key pairs for the gateway's bearer tokens and internal identity are generated per session and
exported as environment variables, so every settings object built in a test sees the same stack.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..devstack import EmbeddedBroker, EmbeddedPostgres, free_port, remove_tree
from ..identity import generate_ed25519_pem


@dataclass
class Stack:
    database_url: str
    kafka_bootstrap: str
    broker: EmbeddedBroker | None  # None when an external broker is used
    postgres: EmbeddedPostgres | None
    internal_private_pem: str
    internal_public_pem: str
    token_private_pem: str
    token_public_pem: str
    env: dict[str, str] = field(default_factory=dict)

    def stop_broker(self) -> None:
        if self.broker is None:
            pytest.skip("broker outage tests need the embedded broker")
        self.broker.stop()

    def start_broker(self) -> None:
        assert self.broker is not None
        self.broker.start()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="gridcommons-test-"))
    os.chmod(tmp, 0o755)
    postgres = broker = None
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(tmp / "pg", free_port(), database="gridcommons_test")
        database_url = postgres.start()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = EmbeddedBroker(free_port(), log_path=tmp / "broker.log")
        bootstrap = broker.start()
    internal_private, internal_public = generate_ed25519_pem()
    token_private, token_public = generate_ed25519_pem()
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INTERNAL_IDENTITY_PUBLIC_KEY": internal_public,
        "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY": internal_private,
        "GATEWAY_TOKEN_PRIVATE_KEY": token_private,
        "TOKEN_PUBLIC_KEY": token_public,  # the services verify ingestion credentials with it
    }
    if broker is not None:
        env |= broker.client_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield Stack(
            database_url=database_url,
            kafka_bootstrap=bootstrap,
            broker=broker,
            postgres=postgres,
            internal_private_pem=internal_private,
            internal_public_pem=internal_public,
            token_private_pem=token_private,
            token_public_pem=token_public,
            env=env,
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
        remove_tree(tmp)


@pytest.fixture(scope="session")
def bearer_token(stack: Stack):
    """``bearer_token(company_id, "device")``: a token as the gateway's ``client_credentials`` grant
    issues it (signed with the session's gateway key), for the Kafka ingestion doors. Keywords:
    ``kind`` ("client"/"user"), ``subject``, ``jti``, ``iat``/``exp`` (epoch seconds), ``key`` (another
    Ed25519 private key PEM: a forged signature), ``claims`` (overrides)."""
    import secrets
    import time

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ..bearer import ed25519_kid
    from ..settings import InfraSettings

    infra = InfraSettings()

    def make(
        company_id: int | None,
        *roles: str,
        kind: str = "client",
        subject: str | None = None,
        jti: str | None = None,
        iat: float | None = None,
        exp: float | None = None,
        key: str | None = None,
        claims: dict[str, object] | None = None,
    ) -> str:
        private = serialization.load_pem_private_key((key or stack.token_private_pem).encode(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        signing = serialization.load_pem_private_key(stack.token_private_pem.encode(), password=None)
        assert isinstance(signing, Ed25519PrivateKey)
        now = int(time.time())
        body: dict[str, object] = {
            "sub": subject or (f"mc_test_{secrets.token_hex(4)}" if kind == "client" else "1"),
            "typ": kind,
            "jti": jti or secrets.token_urlsafe(18),
            "iat": int(iat if iat is not None else now),
            "exp": int(exp if exp is not None else now + 3600),
            "iss": infra.token_issuer,
            "aud": infra.token_audience,
        }
        if kind == "client":
            body |= {"company_id": company_id, "roles": list(roles or ("device",))}
        body |= claims or {}
        # the kid is always the gateway's: a forged token claims to come from the real key
        return jwt.encode(body, private, algorithm="EdDSA", headers={"kid": ed25519_kid(signing.public_key())})

    return make


def ingest_headers(token: str | None, company_id: int | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers of an ingestion message: the sender's credential (and company, for user tokens)."""
    headers: list[tuple[str, bytes]] = []
    if token is not None:
        headers.append(("authorization", f"Bearer {token}".encode()))
    if company_id is not None:
        headers.append(("companyid", str(company_id).encode()))
    return headers


@pytest.fixture
def truncate_schemas(stack: Stack):
    """``await truncate_schemas("asset", ...)``: empty every table of those schemas (a clean state
    for tests that count rows globally; most tests isolate by using a company of their own)."""
    import asyncpg

    from ..db import asyncpg_dsn

    async def truncate(*schemas: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
        try:
            rows = await conn.fetch(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1::text[]) AND tablename <> 'alembic_version'",
                list(schemas),
            )
            if rows:
                names = ", ".join(f'"{r["schemaname"]}"."{r["tablename"]}"' for r in rows)
                await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    return truncate


# The fixtures every service's tests start with (migrated, internal_headers, company_id, ...).
pytest_plugins = ["gridcommons.testing.fixtures"]
