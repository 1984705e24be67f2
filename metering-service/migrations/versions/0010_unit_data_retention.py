"""unit data history partitioned by UTC month of time (retention drops whole months); existing rows moved

Revision ID: 0010
Revises: 0009
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCHEMA = "metering"
COLUMNS = (
    "company_id, unit_id, community_code, cluster_code, unit_code, dataset_id, time, rsoc, operation_mode, "
    "remaining_capacity_wh, is_grid_master, document, received_at"
)


def _columns() -> list[sa.Column]:  # type: ignore[type-arg]
    code = sa.String(64, collation="C")
    return [
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        sa.Column("community_code", code, nullable=False),
        sa.Column("cluster_code", code, nullable=False),
        sa.Column("unit_code", code, nullable=False),
        sa.Column("dataset_id", sa.BigInteger, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rsoc", sa.Float, nullable=True),
        sa.Column("operation_mode", sa.Text, nullable=True),
        sa.Column("remaining_capacity_wh", sa.Float, nullable=True),
        sa.Column("is_grid_master", sa.Boolean, nullable=True),
        sa.Column("document", postgresql.JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def _partition_sql(year: int, month: int) -> str:
    # The same names and bounds as gridcommons.partitions' monthly step (frozen here: a migration never changes).
    start = datetime(year, month, 1, tzinfo=UTC)
    next_year, next_month0 = divmod(year * 12 + month, 12)  # the next month, 0-based
    end_text = (
        "infinity" if year == 9999 and month == 12 else datetime(next_year, next_month0 + 1, 1, tzinfo=UTC).isoformat()
    )
    return (
        f'CREATE TABLE {SCHEMA}."unit_data_y{year:04d}m{month:02d}" PARTITION OF {SCHEMA}.unit_data '
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end_text}')"
    )


def upgrade() -> None:
    op.rename_table("unit_data", "unit_data_unpartitioned", schema=SCHEMA)
    op.execute(
        f"ALTER TABLE {SCHEMA}.unit_data_unpartitioned RENAME CONSTRAINT pk_unit_data TO pk_unit_data_unpartitioned"
    )
    op.execute(
        f"ALTER INDEX {SCHEMA}.ix_unit_data_company_unit_time RENAME TO ix_unit_data_unpartitioned_company_unit_time"
    )
    op.create_table(
        "unit_data",
        *_columns(),
        sa.PrimaryKeyConstraint("unit_id", "dataset_id", "time", name="pk_unit_data"),
        schema=SCHEMA,
        postgresql_partition_by="RANGE (time)",
    )
    op.create_index("ix_unit_data_company_unit_time", "unit_data", ["company_id", "unit_id", "time"], schema=SCHEMA)
    # One partition per month that holds rows (the worker creates the current and next ones; writes create
    # the others they need), then the rows, in one statement.
    months = op.get_bind().execute(
        sa.text(
            f"SELECT DISTINCT CAST(extract(year FROM time AT TIME ZONE 'UTC') AS int), "
            f"CAST(extract(month FROM time AT TIME ZONE 'UTC') AS int) FROM {SCHEMA}.unit_data_unpartitioned"
        )
    )
    for year, month in sorted(months):
        op.execute(_partition_sql(year, month))
    op.execute(f"INSERT INTO {SCHEMA}.unit_data ({COLUMNS}) SELECT {COLUMNS} FROM {SCHEMA}.unit_data_unpartitioned")
    op.drop_table("unit_data_unpartitioned", schema=SCHEMA)


def downgrade() -> None:
    op.create_table(
        "unit_data_unpartitioned",
        *_columns(),
        sa.PrimaryKeyConstraint("unit_id", "dataset_id", name="pk_unit_data_unpartitioned"),
        schema=SCHEMA,
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.unit_data_unpartitioned ({COLUMNS}) SELECT {COLUMNS} FROM {SCHEMA}.unit_data "
        "ON CONFLICT DO NOTHING"
    )
    op.drop_table("unit_data", schema=SCHEMA)  # its partitions with it
    op.rename_table("unit_data_unpartitioned", "unit_data", schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.unit_data RENAME CONSTRAINT pk_unit_data_unpartitioned TO pk_unit_data")
    op.create_index("ix_unit_data_company_unit_time", "unit_data", ["company_id", "unit_id", "time"], schema=SCHEMA)
