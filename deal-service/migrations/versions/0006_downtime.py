"""downtime: units' processing state, their recent samples and their downtimes

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "deal"


def upgrade() -> None:
    op.create_table(
        "downtime_units",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("first_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open_since", sa.DateTime(timezone=True)),
        sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("floor_time", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "unit_id"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_downtime_units_cluster",
        "downtime_units",
        ["company_id", "community_code", "cluster_code", "unit_code"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_downtime_units_silence",
        "downtime_units",
        ["last_time"],
        schema=SCHEMA,
        postgresql_where=sa.text("open_since IS NULL"),
    )
    op.create_table(
        "downtime_samples",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("down", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "unit_id", "time"),
        schema=SCHEMA,
    )
    op.create_table(
        "downtimes",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("down_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovery_date_time", sa.DateTime(timezone=True)),
        sa.Column("downtime_before_sec", sa.Double(), nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "unit_id", "down_date_time"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_downtimes_cluster_down",
        "downtimes",
        ["company_id", "community_code", "cluster_code", "down_date_time"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("downtimes", schema=SCHEMA)
    op.drop_table("downtime_samples", schema=SCHEMA)
    op.drop_table("downtime_units", schema=SCHEMA)
