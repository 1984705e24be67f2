from sqlalchemy import (
    CheckConstraint,
    Column,
    Numeric,
    PrimaryKeyConstraint,
    Table,
)

from ..columns import asset_foreign_key, asset_key, period_end, period_start, timestamps
from ..db import metadata

# One row per (asset, 15-minute period); delivery_day is the start's local date in the asset's region.
forecasts = Table(
    "forecasts",
    metadata,
    *asset_key(),
    period_start(),
    *period_end(),
    Column("generation", Numeric(38, 18), nullable=False),
    Column("consumption", Numeric(38, 18), nullable=False),
    Column("import_from_grid_fee", Numeric(38, 18), nullable=True),
    *timestamps(),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time"),
    asset_foreign_key(),
    CheckConstraint("end_time > start_time", name="period"),
)
