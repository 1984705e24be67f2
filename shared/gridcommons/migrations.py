"""Alembic per service: each service migrates its own schema, with its own version table there.

A service's ``migrations/env.py`` is two lines: import its metadata, call ``run_env(metadata)``.
``upgrade(service_dir, url)`` applies them (used by ``make run``, the tests and deploy jobs).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when an event loop is running."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def run_env(metadata: MetaData) -> None:
    """Body of a service's env.py (online mode only: migrations always run against a database)."""
    schema = metadata.schema
    assert schema
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            # Serialise concurrent migrators of the same schema (several replicas starting at once).
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run())


def create_kernel_tables(schema: str) -> None:
    """Migration step (call inside a service's first revision): the outbox and processed_events
    tables, version 1. Frozen: a later change to these tables gets its own helper and revision."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["seq"], schema=schema, postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def drop_kernel_tables(schema: str) -> None:
    from alembic import op

    op.drop_table("processed_events", schema=schema)
    op.drop_table("outbox", schema=schema)


def create_replica_tables(schema: str) -> None:
    """Migration step 2 (every service's chain includes it after step 1): the replicas of the
    gateway's revoked tokens and memberships (``gridcommons.replicas``), version 1. Frozen."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"], schema=schema)
    op.create_table(
        "memberships",
        sa.Column("company_id", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("member", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("username", sa.String(150), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def drop_replica_tables(schema: str) -> None:
    from alembic import op

    op.drop_table("memberships", schema=schema)
    op.drop_index("ix_revoked_tokens_expires_at", "revoked_tokens", schema=schema)
    op.drop_table("revoked_tokens", schema=schema)


# Step 3's indexes: (name, table, indexed expression and predicate). Kept in step with the indexes
# of gridcommons.outbox.kernel_tables (the skeleton and gateway migration tests compare them).
_PRUNE_INDEXES = (
    ("ix_outbox_published_at", "outbox", "(published_at) WHERE published_at IS NOT NULL"),
    ("ix_processed_events_processed_at", "processed_events", "(processed_at)"),
)


def create_prune_indexes(schema: str) -> None:
    """Migration step 3 (every service's chain includes it after step 2): the indexes by which the
    outbox relay prunes published outbox rows and old processed_events entries (shared/README.md
    "Bounded kernel tables"), version 1. Frozen. ``IF NOT EXISTS``: a schema whose first revision
    built the kernel tables from the live metadata already has them. A plain CREATE INDEX blocks
    writes to the table while it builds: a fraction of a second on tables of tens of MB."""
    from alembic import op

    for name, table, spec in _PRUNE_INDEXES:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON "{schema}".{table} {spec}')


def drop_prune_indexes(schema: str) -> None:
    from alembic import op

    for name, _table, _spec in _PRUNE_INDEXES:
        op.execute(f'DROP INDEX IF EXISTS "{schema}".{name}')
