"""The logs table: one row per program log record, partitioned by UTC day of ``datetime``.

Daily partitions: at 10 M records a day a partition holds ~10 M rows (a month would hold 300 M), the
retention drops one day at a time (a 365-day retention keeps 366 partitions, which PostgreSQL prunes
at plan time for the jobs' windows), and the jobs' look-back window (a minute) touches one or two
partitions. No primary key: log records have no identity (a partitioned table's key would have to
include ``datetime``); redeliveries of a Kafka message are skipped by event id instead.
"""

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text

from gridcommons.partitions import TimePartitions

from ..db import SCHEMA, metadata

logs = Table(
    "logs",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("program_id", String(64), nullable=False),
    Column("unit_id", String(64)),
    Column("datetime", DateTime(timezone=True), nullable=False),
    Column("loglevel", String(16), nullable=False),
    Column("loggername", String(255)),
    Column("message", Text),
    Column("thread", String(255)),
    Column("address", String(255)),
    Column("unitname", String(255)),
    # The jobs' queries (a cluster's program in a window, grouped by unit) and the operators' search.
    Index("ix_logs_cluster_program_time", "company_id", "community_code", "cluster_code", "program_id", "datetime"),
    postgresql_partition_by="RANGE (datetime)",
)

partitions = TimePartitions(SCHEMA, "logs", "day")
