"""unit telemetry (seed 004 unitData): every report of a unit, and each unit's newest report

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
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


def downgrade() -> None:
    op.drop_table("unit_data_latest", schema=SCHEMA)
    op.drop_table("unit_data", schema=SCHEMA)
