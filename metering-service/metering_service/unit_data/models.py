from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db import metadata


def _columns() -> list[Column[Any]]:
    # The registry's codes are copied in (they never change): every read is one table, no join.
    return [
        Column("company_id", BigInteger, nullable=False),
        Column("unit_id", BigInteger, nullable=False),  # the registry's unit id
        Column("community_code", String(64, collation="C"), nullable=False),
        Column("cluster_code", String(64, collation="C"), nullable=False),
        Column("unit_code", String(64, collation="C"), nullable=False),
        Column("dataset_id", BigInteger, nullable=False),
        Column("time", DateTime(timezone=True), nullable=False),
        Column("rsoc", Float, nullable=True),
        Column("operation_mode", Text, nullable=True),
        Column("remaining_capacity_wh", Float, nullable=True),
        Column("is_grid_master", Boolean, nullable=True),
        Column("document", JSONB, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


# Every report, once per (unit, datasetId): the history (downtime, availability, exports). Partitioned by UTC
# month of ``time`` (``partitions.py``: created ahead and on demand, dropped past the retention), so the primary
# key holds ``time`` too; the once-per-(unit, datasetId) rule is kept by the insert (``repository.INSERT_NEW``).
unit_data = Table(
    "unit_data",
    metadata,
    *_columns(),
    PrimaryKeyConstraint("unit_id", "dataset_id", "time", name="pk_unit_data"),
    Index("ix_unit_data_company_unit_time", "company_id", "unit_id", "time"),
    postgresql_partition_by="RANGE (time)",
)

# Each unit's report with the highest datasetId: latestSet and unitIdList read a cluster's units here
# (one row per unit) instead of searching the history.
unit_data_latest = Table(
    "unit_data_latest",
    metadata,
    *_columns(),
    PrimaryKeyConstraint("unit_id", name="pk_unit_data_latest"),
    Index("ix_unit_data_latest_cluster", "company_id", "community_code", "cluster_code", "dataset_id"),
)
