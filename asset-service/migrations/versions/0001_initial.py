"""initial: kernel tables (outbox, processed_events), assets, asset id sequences

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from gridcommons.migrations import create_kernel_tables, drop_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "asset"


def upgrade() -> None:
    create_kernel_tables(SCHEMA)
    op.create_table(
        "assets",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("delivery_area", sa.String(16), nullable=False),
        sa.Column("lifecycle", sa.String(32), nullable=False, server_default="DRAFT"),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("go_live_date", sa.Date, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "id", name="pk_assets"),
        schema=SCHEMA,
    )
    op.create_index("ix_assets_company_created", "assets", ["company_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "asset_id_sequences",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("last_value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("company_id", "prefix", name="pk_asset_id_sequences"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("asset_id_sequences", "assets"):
        op.drop_table(table, schema=SCHEMA)
    drop_kernel_tables(SCHEMA)
