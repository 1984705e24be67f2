"""period limits

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "asset"
SOURCES = ("REPORTED", "OPERATIONS", "CUSTOMER", "PV", "AVAILABILITY")


def upgrade() -> None:
    op.create_table(
        "period_limits",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        # "C": asset ids and sources sort in byte order on every installation (as in 0003).
        sa.Column("asset_id", sa.String(128, collation="C"), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16, collation="C"), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_day", sa.Date, nullable=False),
        sa.Column("power_charge", sa.Numeric(38, 18), nullable=True),
        sa.Column("power_discharge", sa.Numeric(38, 18), nullable=True),
        sa.Column("energy_low", sa.Numeric(38, 18), nullable=True),
        sa.Column("energy_high", sa.Numeric(38, 18), nullable=True),
        sa.Column("trading_locked", sa.Boolean, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # Reads are (company, asset, [from, to)) range scans: the key serves them.
        sa.PrimaryKeyConstraint("company_id", "asset_id", "start_time", "source", name="pk_period_limits"),
        sa.ForeignKeyConstraint(
            ["company_id", "asset_id"],
            [f"{SCHEMA}.assets.company_id", f"{SCHEMA}.assets.id"],
            name="fk_period_limits_company_id_assets",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("source IN (" + ", ".join(f"'{s}'" for s in SOURCES) + ")", name="ck_period_limits_source"),
        sa.CheckConstraint("end_time > start_time", name="ck_period_limits_period"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("period_limits", schema=SCHEMA)
