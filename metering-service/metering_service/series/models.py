from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db import metadata

series = Table(
    "series",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("external_key", String(255), nullable=False),
    Column("name", String(255), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("id"),
    CheckConstraint("kind IN ('instantaneous', 'cumulative')", name="kind"),
    Index("ix_series_company_id", "company_id", "id"),
    # The external key names one live series per company; a retired series frees its key.
    Index(
        "uq_series_company_external_key_live",
        "company_id",
        "external_key",
        unique=True,
        postgresql_where=text("retired_at IS NULL"),
    ),
)

# The registry units a series is linked to (seed 004 residents of those units may read it). The unit is
# the community registry replica's id (registry_units, no foreign key: the replica is written by its
# consumer, never deleted from); the company is copied so that a member's listing is one index range.
series_units = Table(
    "series_units",
    metadata,
    Column("series_id", BigInteger, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("unit_id", BigInteger, nullable=False),
    Column("company_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("series_id", "unit_id"),
    Index("ix_series_units_company_unit", "company_id", "unit_id", "series_id"),
)
