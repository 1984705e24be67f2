"""The gateway's migrations build exactly the tables its models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import gateway.auth.models  # noqa: F401  (registers the tables on the metadata)
from gateway.auth.db import SCHEMA, metadata
from gridcommons.testing.plugin import Stack


async def test_migrations_match_models(migrated: Stack) -> None:
    def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
        if type_ == "schema":
            return name == SCHEMA
        return not (type_ == "table" and name == "alembic_version")

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(
            sync_conn, opts={"target_metadata": metadata, "include_schemas": True, "include_name": include_name}
        )
        return compare_metadata(ctx, metadata)

    engine = create_async_engine(migrated.database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
