"""unit telemetry (seed 004 unitData): every report of a unit, and each unit's newest report; the CSV
imports of readings and their progress

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def _code(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(64, collation="C"), nullable=False)


def _extracted() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("dataset_id", sa.BigInteger, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rsoc", sa.Float, nullable=True),
        sa.Column("operation_mode", sa.Text, nullable=True),
        sa.Column("remaining_capacity_wh", sa.Float, nullable=True),
        sa.Column("is_grid_master", sa.Boolean, nullable=True),
        sa.Column("document", postgresql.JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "unit_data",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        _code("community_code"),
        _code("cluster_code"),
        _code("unit_code"),
        *_extracted(),
        sa.PrimaryKeyConstraint("unit_id", "dataset_id", name="pk_unit_data"),
        schema=SCHEMA,
    )
    op.create_index("ix_unit_data_company_unit_time", "unit_data", ["company_id", "unit_id", "time"], schema=SCHEMA)
    op.create_table(
        "unit_data_latest",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        _code("community_code"),
        _code("cluster_code"),
        _code("unit_code"),
        *_extracted(),
        sa.PrimaryKeyConstraint("unit_id", name="pk_unit_data_latest"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_unit_data_latest_cluster",
        "unit_data_latest",
        ["company_id", "community_code", "cluster_code", "dataset_id"],
        schema=SCHEMA,
    )

    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_written", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_unchanged", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rejections", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name="ck_imports_status"),
        schema=SCHEMA,
    )
    op.create_index("ix_imports_company_series", "imports", ["company_id", "series_id", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("imports", schema=SCHEMA)
    op.drop_table("unit_data_latest", schema=SCHEMA)
    op.drop_table("unit_data", schema=SCHEMA)
