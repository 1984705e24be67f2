"""Job settings per cluster and the record of each job type's last pass."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, PrimaryKeyConstraint, String, Table, func

from ..db import metadata

# Whether a job type runs for a cluster; a cluster without a row takes MONITORING_JOBS_ACTIVE_BY_DEFAULT.
job_settings = Table(
    "job_settings",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "community_code", "cluster_code", "type"),
)

# When each job type last ran a pass (any replica): a replica that gets the lock right after another
# replica's pass skips its own, so N replicas run each pass once per interval.
job_passes = Table(
    "job_passes",
    metadata,
    Column("type", String(32), primary_key=True),
    Column("last_started", DateTime(timezone=True), nullable=False),
    Column("last_finished", DateTime(timezone=True)),
)

# The newest unit data seen per cluster (metering.unit-data.v1): apis-ccc is alive while it reports.
cluster_unit_data = Table(
    "cluster_unit_data",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("last_time", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("company_id", "community_code", "cluster_code"),
)
