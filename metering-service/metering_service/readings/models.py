from sqlalchemy import BigInteger, Column, DateTime, Numeric, PrimaryKeyConstraint, SmallInteger, Table

from ..db import metadata

# Narrow and partitioned by month (UTC) of ``ts``: partitions are created ahead by the worker and on
# demand by an ingestion (``partitions.py``). ``quality`` is the rank of the reading's quality
# (``schemas.QUALITY_RANK``), so that the upsert rule compares two small integers.
readings = Table(
    "readings",
    metadata,
    Column("series_id", BigInteger, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("value", Numeric, nullable=False),
    Column("quality", SmallInteger, nullable=False),
    PrimaryKeyConstraint("series_id", "ts"),
    postgresql_partition_by="RANGE (ts)",
)
