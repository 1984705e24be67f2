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
    }
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
