"""Tables of the sites domain: sites, inverters (and their assets), PoC and inverter limits."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

from ..db import metadata

AMOUNT = Numeric(38, 18)


def _timestamps() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _tenant_fk(column: str, table: str, name: str) -> ForeignKeyConstraint:
    """(company_id, column) references (company_id, id) of ``table``; rows go with their owner."""
    return ForeignKeyConstraint(
        ["company_id", column], [f"asset.{table}.company_id", f"asset.{table}.id"], name=name, ondelete="CASCADE"
    )


# Last sequence number handed out per (company, id prefix), for site and inverter ids.
site_id_sequences = Table(
    "site_id_sequences",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("prefix", String(160), nullable=False),
    Column("last_value", Integer, nullable=False),
    PrimaryKeyConstraint("company_id", "prefix"),
)

sites = Table(
    "sites",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("id", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    Column("code", String(64), nullable=False),
    Column("region", String(8), nullable=False),
    Column("delivery_area", String(16), nullable=False),
    Column("dispatch_mode_name", String(32), nullable=False),
    Column("dispatch_mode_floor_price", AMOUNT, nullable=True),
    Column("dispatch_mode_strike_price", AMOUNT, nullable=True),
    *_timestamps(),
    PrimaryKeyConstraint("company_id", "id"),
    Index("ix_sites_company_created", "company_id", "created_at"),
)

site_inverters = Table(
    "site_inverters",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("id", String(160), nullable=False),
    Column("site_id", String(128), nullable=False),
    Column("rated_power", AMOUNT, nullable=False),
    Column("charge_efficiency", AMOUNT, nullable=False),
    Column("discharge_efficiency", AMOUNT, nullable=False),
    *_timestamps(),
    PrimaryKeyConstraint("company_id", "id"),
    _tenant_fk("site_id", "sites", "fk_site_inverters_site"),
    Index("ix_site_inverters_site", "company_id", "site_id"),
)

# The assets an inverter serves, in request order (FK to assets: deleting an asset unlinks it).
site_inverter_assets = Table(
    "site_inverter_assets",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("inverter_id", String(160), nullable=False),
    Column("asset_id", String(128), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("company_id", "inverter_id", "asset_id"),
    _tenant_fk("inverter_id", "site_inverters", "fk_site_inverter_assets_inverter"),
    _tenant_fk("asset_id", "assets", "fk_site_inverter_assets_asset"),
    Index("ix_site_inverter_assets_asset", "company_id", "asset_id"),
)


def _limit_table(name: str, owner: str, owner_len: int, owner_table: str) -> Table:
    return Table(
        name,
        metadata,
        Column("company_id", BigInteger, nullable=False),
        Column(owner, String(owner_len), nullable=False),
        Column("start_time", DateTime(timezone=True), nullable=False),
        Column("end_time", DateTime(timezone=True), nullable=False),
        Column("max_import_from_grid", AMOUNT, nullable=True),
        Column("max_export_to_grid", AMOUNT, nullable=True),
        *_timestamps(),
        PrimaryKeyConstraint("company_id", owner, "start_time"),
        _tenant_fk(owner, owner_table, f"fk_{name}_{owner.removesuffix('_id')}"),
    )


# One row per quarter hour (submitted periods are expanded server-side).
site_poc_limits = _limit_table("site_poc_limits", "site_id", 128, "sites")
site_inverter_limits = _limit_table("site_inverter_limits", "inverter_id", 160, "site_inverters")
