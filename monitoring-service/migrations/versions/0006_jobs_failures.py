"""jobs and failures: job settings per cluster, the passes' record, the newest unit data per cluster,
failures with at most one open per key

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.create_table(
        "job_settings",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "community_code", "cluster_code", "type"),
        schema=SCHEMA,
    )
    op.create_table(
        "job_passes",
        sa.Column("type", sa.String(32), primary_key=True),
        sa.Column("last_started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_finished", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_table(
        "cluster_unit_data",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "community_code", "cluster_code"),
        schema=SCHEMA,
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64)),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("detected", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("closed", sa.DateTime(timezone=True)),
        sa.Column("close_reason", sa.String(32)),
        sa.Column("description", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "ux_failures_open_key",
        "failures",
        [
            "company_id",
            "type",
            "community_code",
            "cluster_code",
            sa.text("coalesce(program_id, '')"),
            sa.text("coalesce(unit_id, '')"),
        ],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("closed IS NULL"),
    )
    op.create_index(
        "ix_failures_cluster_detected",
        "failures",
        ["company_id", "community_code", "cluster_code", "detected"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("failures", schema=SCHEMA)
    op.drop_table("cluster_unit_data", schema=SCHEMA)
    op.drop_table("job_passes", schema=SCHEMA)
    op.drop_table("job_settings", schema=SCHEMA)
