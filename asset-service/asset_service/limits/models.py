"""Tables of the period-limits domain (created by migration 0004)."""

from sqlalchemy import (
    Boolean,
    Column,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
)

from ..columns import asset_foreign_key, asset_key, period_end, period_start, timestamps
from ..db import metadata

# One row per (asset, 15-minute period, source). The four constraint columns and
# trading_locked are nullable: NULL means "this source says nothing about it".
period_limits = Table(
    "period_limits",
    metadata,
    *asset_key(),
    period_start(),
    Column("source", String(16, collation="C"), nullable=False),
    *period_end(),
    Column("power_charge", Numeric(38, 18), nullable=True),
    Column("power_discharge", Numeric(38, 18), nullable=True),
    Column("energy_low", Numeric(38, 18), nullable=True),
    Column("energy_high", Numeric(38, 18), nullable=True),
    Column("trading_locked", Boolean, nullable=True),
    *timestamps(),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time", "source"),
    asset_foreign_key(),
)
