from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db import metadata

# One row per upload; its counters are committed with each chunk written, so that a reader sees the
# progress of an import still running.
imports = Table(
    "imports",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("series_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_written", BigInteger, nullable=False, server_default="0"),
    Column("rows_unchanged", BigInteger, nullable=False, server_default="0"),
    Column("rows_rejected", BigInteger, nullable=False, server_default="0"),
    Column("rejections", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("id", name="pk_imports"),
    CheckConstraint("status IN ('running', 'completed', 'failed')", name="ck_imports_status"),
    Index("ix_imports_company_series", "company_id", "series_id", "id"),
)
