from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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

# One row per (asset, 15-minute period); delivery_day is the start's local date in the asset's region.
forecasts = Table(
    "forecasts",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128, collation="C"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("delivery_day", Date, nullable=False),
    Column("generation", Numeric(38, 18), nullable=False),
    Column("consumption", Numeric(38, 18), nullable=False),
    Column("import_from_grid_fee", Numeric(38, 18), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time"),
    ForeignKeyConstraint(
        ["company_id", "asset_id"], ["asset.assets.company_id", "asset.assets.id"], ondelete="CASCADE"
    ),
    CheckConstraint("end_time > start_time", name="period"),
)
