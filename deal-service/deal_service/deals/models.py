"""The deals table: one row per deal (per company), the newest report wins."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db import metadata

# The columns are what the queries filter, sort or sum on; `report` is the whole newest report
# (wire names, as received after validation), which the answers are built from.
deals = Table(
    "deals",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("deal_id", String(128), nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("unit_id", String(64)),
    Column("request_unit_id", String(64)),
    Column("accept_unit_id", String(64)),
    Column("charge_unit_id", String(64)),
    Column("discharge_unit_id", String(64)),
    Column("create_date_time", DateTime(timezone=True), nullable=False),
    Column("deactivate_date_time", DateTime(timezone=True)),
    Column("report_time", BigInteger, nullable=False),
    # How far the deal went (lifecycle instants set): breaks ties between reports of the same second.
    Column("progress", SmallInteger, nullable=False),
    Column("cumulate_amount_wh", Numeric),
    Column("report", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "deal_id"),
    Index("ix_deals_cluster_created", "company_id", "community_code", "cluster_code", "create_date_time"),
    Index(
        "ix_deals_charge_unit_created",
        "company_id",
        "community_code",
        "cluster_code",
        "charge_unit_id",
        "create_date_time",
    ),
    Index(
        "ix_deals_discharge_unit_created",
        "company_id",
        "community_code",
        "cluster_code",
        "discharge_unit_id",
        "create_date_time",
    ),
    Index(
        "ix_deals_live",
        "company_id",
        "community_code",
        "cluster_code",
        "report_time",
        postgresql_where=text("deactivate_date_time IS NULL"),
    ),
)
