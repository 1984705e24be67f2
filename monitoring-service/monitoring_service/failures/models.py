"""The failures table. At most one open failure per key (type, community, cluster, program, unit) and
company: a partial unique index (NULL program/unit compared as empty), so two job runners racing on
the same NG open one failure."""

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, String, Table, Text, func, text

from ..db import metadata

failures = Table(
    "failures",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("company_id", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("cluster_code", String(64), nullable=False),
    Column("program_id", String(64)),
    Column("unit_id", String(64)),
    Column("detected", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed", DateTime(timezone=True)),
    Column("close_reason", String(32)),
    Column("description", Text, nullable=False),
    Index(
        "ux_failures_open_key",
        "company_id",
        "type",
        "community_code",
        "cluster_code",
        text("coalesce(program_id, '')"),
        text("coalesce(unit_id, '')"),
        unique=True,
        postgresql_where=text("closed IS NULL"),
    ),
    Index("ix_failures_cluster_detected", "company_id", "community_code", "cluster_code", "detected"),
)
