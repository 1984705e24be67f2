"""Downtime tables: each unit's processing state, its recent samples (time, down) and its downtimes.

Units are keyed by their registry id (the key of ``metering.unit-data.v1``) and carry their codes, which
never change (the staff endpoints address units by code).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)

from ..db import metadata

# One row per unit that ever reported: where its processing stands.
downtime_units = Table(
    "downtime_units",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("unit_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("first_time", DateTime(timezone=True), nullable=False),  # earliest sample ever processed
    Column("last_time", DateTime(timezone=True), nullable=False),  # newest sample
    Column("open_since", DateTime(timezone=True)),  # start of the open downtime, if any
    Column("silent", Boolean, nullable=False, server_default=text("false")),  # that one opened by silence
    # Samples up to this instant were pruned (the one at it is kept): older samples are too late.
    Column("floor_time", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "unit_id"),
    Index("ix_downtime_units_cluster", "company_id", "community_code", "cluster_code", "unit_code"),
    # The silence check: units without an open downtime, by their newest sample.
    Index("ix_downtime_units_silence", "last_time", postgresql_where=text("open_since IS NULL")),
)

# The samples of the retention window: what a late sample's re-derivation reads.
downtime_samples = Table(
    "downtime_samples",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("unit_id", BigInteger, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("down", Boolean, nullable=False),
    PrimaryKeyConstraint("company_id", "unit_id", "time"),
)

# The downtimes: [down_date_time, recovery_date_time), recovery null while the unit is down.
downtimes = Table(
    "downtimes",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("unit_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("down_date_time", DateTime(timezone=True), nullable=False),
    Column("recovery_date_time", DateTime(timezone=True)),
    # Seconds of the unit's downtimes before this one (a prefix sum): a unit's downtime up to any instant
    # is one index lookup (the availability report), whatever the number of downtimes.
    Column("downtime_before_sec", Double, nullable=False, server_default=text("0")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "unit_id", "down_date_time"),
    Index("ix_downtimes_cluster_down", "company_id", "community_code", "cluster_code", "down_date_time"),
)
