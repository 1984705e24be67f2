"""Tables of the technical-specs domain (created by migration 0005)."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

from ..db import metadata

AMOUNT = Numeric(38, 18)

# One row per spec version; EXCLUDE (btree_gist) forbids overlapping [valid_from, valid_to) windows
# of one asset, see migrations/versions/0005_technical_specs.py.
technical_specs = Table(
    "technical_specs",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=True),
    Column("rated_power", AMOUNT, nullable=True),
    Column("grid_connection_max_power", AMOUNT, nullable=True),
    Column("max_capacity", AMOUNT, nullable=True),
    Column("ramp_rate", AMOUNT, nullable=True),
    Column("ramp_type", String(64), nullable=True),
    Column("charge_efficiency", AMOUNT, nullable=True),
    Column("discharge_efficiency", AMOUNT, nullable=True),
    Column("daily_cycle_energy_limit", AMOUNT, nullable=True),
    Column("prequalified_fcr", AMOUNT, nullable=True),
    Column("prequalified_afrr_charge", AMOUNT, nullable=True),
    Column("prequalified_afrr_discharge", AMOUNT, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "valid_from"),
    ForeignKeyConstraint(
        ["company_id", "asset_id"],
        ["asset.assets.company_id", "asset.assets.id"],
        name="fk_technical_specs_asset",
        ondelete="CASCADE",
    ),
)
