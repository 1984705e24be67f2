"""deals: one row per deal and company, the newest report wins

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "deal"


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("deal_id", sa.String(128), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("request_unit_id", sa.String(64)),
        sa.Column("accept_unit_id", sa.String(64)),
        sa.Column("charge_unit_id", sa.String(64)),
        sa.Column("discharge_unit_id", sa.String(64)),
        sa.Column("create_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivate_date_time", sa.DateTime(timezone=True)),
        sa.Column("report_time", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.SmallInteger(), nullable=False),
        sa.Column("cumulate_amount_wh", sa.Numeric()),
        sa.Column("report", JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "deal_id"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_deals_cluster_created",
        "deals",
        ["company_id", "community_code", "cluster_code", "create_date_time"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_deals_charge_unit_created",
        "deals",
        ["company_id", "community_code", "cluster_code", "charge_unit_id", "create_date_time"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_deals_discharge_unit_created",
        "deals",
        ["company_id", "community_code", "cluster_code", "discharge_unit_id", "create_date_time"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_deals_live",
        "deals",
        ["company_id", "community_code", "cluster_code", "report_time"],
        schema=SCHEMA,
        postgresql_where=sa.text("deactivate_date_time IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("deals", schema=SCHEMA)
