"""logs: program log records, partitioned by UTC day of datetime (partitions made by the worker)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.create_table(
        "logs",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loglevel", sa.String(16), nullable=False),
        sa.Column("loggername", sa.String(255)),
        sa.Column("message", sa.Text()),
        sa.Column("thread", sa.String(255)),
        sa.Column("address", sa.String(255)),
        sa.Column("unitname", sa.String(255)),
        schema=SCHEMA,
        postgresql_partition_by="RANGE (datetime)",
    )
    op.create_index(
        "ix_logs_cluster_program_time",
        "logs",
        ["company_id", "community_code", "cluster_code", "program_id", "datetime"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("logs", schema=SCHEMA)  # drops its partitions with it
