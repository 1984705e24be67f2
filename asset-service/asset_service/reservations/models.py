from sqlalchemy import (
    CheckConstraint,
    Column,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
)

from ..columns import asset_foreign_key, asset_key, period_end, period_start, timestamps
from ..db import metadata

# One row per (asset, 15-minute period, market, source): a net market position.
reservations = Table(
    "reservations",
    metadata,
    *asset_key(),
    period_start(),
    Column("market", String(64, collation="C"), nullable=False),
    Column("source", String(32, collation="C"), nullable=False),
    *period_end(),
    Column("power", Numeric(38, 18), nullable=False),
    Column("energy_change", Numeric(38, 18), nullable=False),
    Column("energy_buffer_low", Numeric(38, 18), nullable=False),
    Column("energy_buffer_high", Numeric(38, 18), nullable=False),
    *timestamps(),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time", "market", "source"),
    asset_foreign_key(),
    CheckConstraint("end_time > start_time", name="period"),
)
