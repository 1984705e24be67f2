"""state snapshots, forecasts, reservations

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "asset"
AMOUNT = sa.Numeric(38, 18)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def _asset_fk(table: str) -> sa.ForeignKeyConstraint:
    # Time series go with their asset (the assets domain deletes only DRAFT/DECOMMISSIONED assets).
    return sa.ForeignKeyConstraint(
        ["company_id", "asset_id"],
        [f"{SCHEMA}.assets.company_id", f"{SCHEMA}.assets.id"],
        name=op.f(f"fk_{table}_company_id_assets"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "state_snapshots",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("asset_id", sa.String(128, collation="C"), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_energy", AMOUNT, nullable=False),
        sa.Column("reading_quality", sa.String(16), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "asset_id", "effective_at", name=op.f("pk_state_snapshots")),
        _asset_fk("state_snapshots"),
        sa.CheckConstraint("stored_energy >= 0", name=op.f("ck_state_snapshots_stored_energy_non_negative")),
        schema=SCHEMA,
    )
    op.create_table(
        "forecasts",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("asset_id", sa.String(128, collation="C"), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_day", sa.Date, nullable=False),
        sa.Column("generation", AMOUNT, nullable=False),
        sa.Column("consumption", AMOUNT, nullable=False),
        sa.Column("import_from_grid_fee", AMOUNT, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "asset_id", "start_time", name=op.f("pk_forecasts")),
        _asset_fk("forecasts"),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_forecasts_period")),
        schema=SCHEMA,
    )
    op.create_table(
        "reservations",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("asset_id", sa.String(128, collation="C"), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("market", sa.String(64, collation="C"), nullable=False),
        sa.Column("source", sa.String(32, collation="C"), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_day", sa.Date, nullable=False),
        sa.Column("power", AMOUNT, nullable=False),
        sa.Column("energy_change", AMOUNT, nullable=False),
        sa.Column("energy_buffer_low", AMOUNT, nullable=False),
        sa.Column("energy_buffer_high", AMOUNT, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint(
            "company_id", "asset_id", "start_time", "market", "source", name=op.f("pk_reservations")
        ),
        _asset_fk("reservations"),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_reservations_period")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("reservations", "forecasts", "state_snapshots"):
        op.drop_table(table, schema=SCHEMA)
