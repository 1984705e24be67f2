from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from ..assets.models import assets
from ..db import metadata

# Dispatch commands as received on ingest.dispatches.v1; event_id unique per company.
dispatches = Table(
    "dispatches",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("source", String(255), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("asset_id", String(128), nullable=False),
    Column("dispatch_time", DateTime(timezone=True), nullable=False),
    Column("delivery_period_start", DateTime(timezone=True), nullable=False),
    Column("delivery_day", Date, nullable=False),
    Column("target_power", Numeric(38, 18), nullable=False),
    Column("nominal_power", Numeric(38, 18), nullable=False),
    Column("power_imbalance", Numeric(38, 18), nullable=False),
    Column("soc_imbalance", Numeric(38, 18), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "event_id"),
    ForeignKeyConstraint(["company_id", "asset_id"], [assets.c.company_id, assets.c.id], ondelete="CASCADE"),
    Index("ix_dispatches_asset_time", "company_id", "asset_id", "dispatch_time"),
    Index("ix_dispatches_asset_day", "company_id", "asset_id", "delivery_day"),
)
