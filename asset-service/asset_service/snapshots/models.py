from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
)

from ..columns import asset_foreign_key, asset_key, timestamps
from ..db import metadata

# The stored energy (state of energy) of an asset at an instant, as reported.
state_snapshots = Table(
    "state_snapshots",
    metadata,
    *asset_key(),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("stored_energy", Numeric(38, 18), nullable=False),
    Column("reading_quality", String(16), nullable=False),
    *timestamps(),
    PrimaryKeyConstraint("company_id", "asset_id", "effective_at"),
    asset_foreign_key(),
    CheckConstraint("stored_energy >= 0", name="stored_energy_non_negative"),
)
