from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..assets.models import assets
from ..db import metadata

# One row per status change: the status of an asset from effective_at until its next row.
asset_statuses = Table(
    "asset_statuses",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "effective_at"),
    ForeignKeyConstraint(["company_id", "asset_id"], [assets.c.company_id, assets.c.id], ondelete="CASCADE"),
)
