"""technical specs, sites, inverters, PoC and inverter limits

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "asset"

AMOUNT = sa.Numeric(38, 18)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    # --- technical specs: versioned per asset, natural key (asset_id, valid_from) -------------
    op.create_table(
        "technical_specs",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rated_power", AMOUNT, nullable=True),
        sa.Column("grid_connection_max_power", AMOUNT, nullable=True),
        sa.Column("max_capacity", AMOUNT, nullable=True),
        sa.Column("ramp_rate", AMOUNT, nullable=True),
        sa.Column("ramp_type", sa.String(64), nullable=True),
        sa.Column("charge_efficiency", AMOUNT, nullable=True),
        sa.Column("discharge_efficiency", AMOUNT, nullable=True),
        sa.Column("daily_cycle_energy_limit", AMOUNT, nullable=True),
        sa.Column("prequalified_fcr", AMOUNT, nullable=True),
        sa.Column("prequalified_afrr_charge", AMOUNT, nullable=True),
        sa.Column("prequalified_afrr_discharge", AMOUNT, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "asset_id", "valid_from", name="pk_technical_specs"),
        sa.ForeignKeyConstraint(
            ["company_id", "asset_id"],
            [f"{SCHEMA}.assets.company_id", f"{SCHEMA}.assets.id"],
            name="fk_technical_specs_asset",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="ck_technical_specs_window"),
        schema=SCHEMA,
    )
    # No two versions of one asset may be valid at the same instant (concurrency-safe: the
    # database, not the application, refuses the second of two racing writers).
    op.execute(
        f"ALTER TABLE {SCHEMA}.technical_specs ADD CONSTRAINT ex_technical_specs_no_overlap "
        "EXCLUDE USING gist (company_id WITH =, asset_id WITH =, "
        "tstzrange(valid_from, valid_to, '[)') WITH &&)"
    )

    # --- sites --------------------------------------------------------------------------------
    op.create_table(
        "site_id_sequences",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("prefix", sa.String(160), nullable=False),
        sa.Column("last_value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("company_id", "prefix", name="pk_site_id_sequences"),
        schema=SCHEMA,
    )
    op.create_table(
        "sites",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("delivery_area", sa.String(16), nullable=False),
        sa.Column("dispatch_mode_name", sa.String(32), nullable=False),
        sa.Column("dispatch_mode_floor_price", AMOUNT, nullable=True),
        sa.Column("dispatch_mode_strike_price", AMOUNT, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "id", name="pk_sites"),
        schema=SCHEMA,
    )
    op.create_index("ix_sites_company_created", "sites", ["company_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "site_inverters",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.String(160), nullable=False),
        sa.Column("site_id", sa.String(128), nullable=False),
        sa.Column("rated_power", AMOUNT, nullable=False),
        sa.Column("charge_efficiency", AMOUNT, nullable=False),
        sa.Column("discharge_efficiency", AMOUNT, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "id", name="pk_site_inverters"),
        sa.ForeignKeyConstraint(
            ["company_id", "site_id"],
            [f"{SCHEMA}.sites.company_id", f"{SCHEMA}.sites.id"],
            name="fk_site_inverters_site",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_site_inverters_site", "site_inverters", ["company_id", "site_id"], schema=SCHEMA)
    op.create_table(
        "site_inverter_assets",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("inverter_id", sa.String(160), nullable=False),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("company_id", "inverter_id", "asset_id", name="pk_site_inverter_assets"),
        sa.ForeignKeyConstraint(
            ["company_id", "inverter_id"],
            [f"{SCHEMA}.site_inverters.company_id", f"{SCHEMA}.site_inverters.id"],
            name="fk_site_inverter_assets_inverter",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "asset_id"],
            [f"{SCHEMA}.assets.company_id", f"{SCHEMA}.assets.id"],
            name="fk_site_inverter_assets_asset",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_site_inverter_assets_asset", "site_inverter_assets", ["company_id", "asset_id"], schema=SCHEMA)

    # --- PoC limits (per site) and inverter limits: one row per quarter hour ------------------
    op.create_table(
        "site_poc_limits",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("site_id", sa.String(128), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_import_from_grid", AMOUNT, nullable=True),
        sa.Column("max_export_to_grid", AMOUNT, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "site_id", "start_time", name="pk_site_poc_limits"),
        sa.ForeignKeyConstraint(
            ["company_id", "site_id"],
            [f"{SCHEMA}.sites.company_id", f"{SCHEMA}.sites.id"],
            name="fk_site_poc_limits_site",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "site_inverter_limits",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("inverter_id", sa.String(160), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_import_from_grid", AMOUNT, nullable=True),
        sa.Column("max_export_to_grid", AMOUNT, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("company_id", "inverter_id", "start_time", name="pk_site_inverter_limits"),
        sa.ForeignKeyConstraint(
            ["company_id", "inverter_id"],
            [f"{SCHEMA}.site_inverters.company_id", f"{SCHEMA}.site_inverters.id"],
            name="fk_site_inverter_limits_inverter",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "site_inverter_limits",
        "site_poc_limits",
        "site_inverter_assets",
        "site_inverters",
        "sites",
        "site_id_sequences",
        "technical_specs",
    ):
        op.drop_table(table, schema=SCHEMA)
    # btree_gist stays installed: other schemas may use it.
