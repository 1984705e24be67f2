"""series and readings: the series register and the readings table, partitioned by month of ts

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("external_key", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("metadata", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.CheckConstraint("kind IN ('instantaneous', 'cumulative')", name="ck_series_kind"),
        schema=SCHEMA,
    )
    op.create_index("ix_series_company_id", "series", ["company_id", "id"], schema=SCHEMA)
    op.create_index(
        "uq_series_company_external_key_live",
        "series",
        ["company_id", "external_key"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
        schema=SCHEMA,
    )
    # The partitions (one per UTC month) are created by the worker ahead of time and by an
    # ingestion on demand; none is created here.
    op.create_table(
        "readings",
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        sa.Column("quality", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts", name="pk_readings"),
        schema=SCHEMA,
        postgresql_partition_by="RANGE (ts)",
    )


def downgrade() -> None:
    op.drop_table("readings", schema=SCHEMA)  # drops its partitions with it
    op.drop_index("uq_series_company_external_key_live", "series", schema=SCHEMA)
    op.drop_index("ix_series_company_id", "series", schema=SCHEMA)
    op.drop_table("series", schema=SCHEMA)
