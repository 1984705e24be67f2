from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table, func

from ..db import metadata

assets = Table(
    "assets",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("id", String(128), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("region", String(8), nullable=False),
    Column("delivery_area", String(16), nullable=False),
    Column("lifecycle", String(32), nullable=False, server_default="DRAFT"),
    Column("provider", String(64), nullable=False),
    Column("go_live_date", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "id"),
    Index("ix_assets_company_created", "company_id", "created_at"),
)

# Last sequence number handed out per (company, id prefix): ids are never reused.
asset_id_sequences = Table(
    "asset_id_sequences",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("prefix", String(128), nullable=False),
    Column("last_value", Integer, nullable=False),
    PrimaryKeyConstraint("company_id", "prefix"),
)
