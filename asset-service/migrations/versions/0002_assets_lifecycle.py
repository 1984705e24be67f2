"""assets lifecycle, statuses, dispatches

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "asset"

LIFECYCLES = ("DRAFT", "COMMISSIONING", "LIVE", "SUSPENDED", "DECOMMISSIONED")
STATUSES = ("UNKNOWN", "AVAILABLE", "LIMITED", "UNAVAILABLE", "OFFLINE")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _asset_fk(table: str) -> sa.ForeignKeyConstraint:
    # Dependent rows go with their asset (DELETE is only allowed for DRAFT / DECOMMISSIONED assets).
    return sa.ForeignKeyConstraint(
        ["company_id", "asset_id"],
        [f"{SCHEMA}.assets.company_id", f"{SCHEMA}.assets.id"],
        name=f"fk_{table}_asset",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_check_constraint("ck_assets_lifecycle", "assets", _in("lifecycle", LIFECYCLES), schema=SCHEMA)

    op.create_table(
        "asset_statuses",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reasons", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "asset_id", "effective_at", name="pk_asset_statuses"),
        _asset_fk("asset_statuses"),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_asset_statuses_status"),
        schema=SCHEMA,
    )

    op.create_table(
        "dispatches",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("dispatch_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_day", sa.Date, nullable=False),
        sa.Column("target_power", sa.Numeric(38, 18), nullable=False),
        sa.Column("nominal_power", sa.Numeric(38, 18), nullable=False),
        sa.Column("power_imbalance", sa.Numeric(38, 18), nullable=False),
        sa.Column("soc_imbalance", sa.Numeric(38, 18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "event_id", name="pk_dispatches"),
        _asset_fk("dispatches"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_dispatches_asset_time", "dispatches", ["company_id", "asset_id", "dispatch_time"], schema=SCHEMA
    )
    op.create_index("ix_dispatches_asset_day", "dispatches", ["company_id", "asset_id", "delivery_day"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("dispatches", schema=SCHEMA)
    op.drop_table("asset_statuses", schema=SCHEMA)
    op.drop_constraint("ck_assets_lifecycle", "assets", schema=SCHEMA, type_="check")
