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

# One row per (asset, 15-minute period, market, source): a net market position.
reservations = Table(
    "reservations",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128, collation="C"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("market", String(64, collation="C"), nullable=False),
    Column("source", String(32, collation="C"), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("delivery_day", Date, nullable=False),
    Column("power", Numeric(38, 18), nullable=False),
    Column("energy_change", Numeric(38, 18), nullable=False),
    Column("energy_buffer_low", Numeric(38, 18), nullable=False),
    Column("energy_buffer_high", Numeric(38, 18), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "start_time", "market", "source"),
    ForeignKeyConstraint(
        ["company_id", "asset_id"], ["asset.assets.company_id", "asset.assets.id"], ondelete="CASCADE"
    ),
    CheckConstraint("end_time > start_time", name="period"),
)
