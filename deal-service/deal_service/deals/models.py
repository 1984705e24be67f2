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

# cumulateAmountWh summed per 15-minute UTC bucket of createDateTime, per cluster (unit_code '': every
# deal of the cluster; unit codes are never empty) and per unit taking part (charging or discharging
# side, a deal counted once per unit): what the hourly sums read instead of the deals (a year is ~35,000
# buckets against any number of deals). Kept by statement-level triggers on deals (migration 0007:
# the old and new rows' deltas, in the deals' transaction), so it is consistent with the deals table
# under concurrent and repeated reports. ``deals`` counts the deals with an amount (0: no deal left).
deal_sum_buckets = Table(
    "deal_sum_buckets",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("bucket", DateTime(timezone=True), nullable=False),
    Column("deals", BigInteger, nullable=False),
    Column("total", Numeric, nullable=False),
    PrimaryKeyConstraint("company_id", "community_code", "cluster_code", "unit_code", "bucket"),
)
CLUSTER_WIDE = ""  # deal_sum_buckets.unit_code of the cluster's row
BUCKET_SECONDS = 900
