from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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

# The stored energy (state of energy) of an asset at an instant, as reported.
state_snapshots = Table(
    "state_snapshots",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("asset_id", String(128, collation="C"), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("stored_energy", Numeric(38, 18), nullable=False),
    Column("reading_quality", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "asset_id", "effective_at"),
    ForeignKeyConstraint(
        ["company_id", "asset_id"], ["asset.assets.company_id", "asset.assets.id"], ondelete="CASCADE"
    ),
    CheckConstraint("stored_energy >= 0", name="stored_energy_non_negative"),
)
