"""Tables of the period-limits domain (created by migration 0004)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

from ..db import metadata

# One row per (asset, 15-minute period, source). The four constraint columns and
# trading_locked are nullable: NULL means "this source says nothing about it".
period_limits = Table(
    "period_limits",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128, collation="C"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("source", String(16, collation="C"), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("delivery_day", Date, nullable=False),
    Column("power_charge", Numeric(38, 18), nullable=True),
    Column("power_discharge", Numeric(38, 18), nullable=True),
    Column("energy_low", Numeric(38, 18), nullable=True),
    Column("energy_high", Numeric(38, 18), nullable=True),
    Column("trading_locked", Boolean, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time", "source"),
    ForeignKeyConstraint(
        ["company_id", "asset_id"], ["asset.assets.company_id", "asset.assets.id"], ondelete="CASCADE"
    ),
)
