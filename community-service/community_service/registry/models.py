"""The registry tables: communities, clusters, units and the residents linked to each unit.

Ids are internal (identity columns); clients address records by codes, unique within the parent.
Child rows carry ``company_id`` too, so every query filters by company without a join.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
)

from ..db import metadata


def _code() -> Column:  # type: ignore[type-arg]
    # "C" collation: codes order byte-wise, the same on every server locale.
    return Column("code", String(64, collation="C"), nullable=False)


def _record_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("name", String(255), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("retired_at", DateTime(timezone=True), nullable=True),
        Column("version", Integer, nullable=False, server_default="1"),
    ]


communities = Table(
    "communities",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    _code(),
    *_record_columns(),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("company_id", "code", name="uq_communities_company_code"),
)

clusters = Table(
    "clusters",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("community_id", BigInteger, nullable=False),
    _code(),
    *_record_columns(),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("community_id", "code", name="uq_clusters_community_code"),
    ForeignKeyConstraint(["community_id"], ["community.communities.id"]),
    Index("ix_clusters_company_id", "company_id"),
)

units = Table(
    "units",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("community_id", BigInteger, nullable=False),
    Column("cluster_id", BigInteger, nullable=False),
    _code(),
    Column("available_from", DateTime(timezone=True), nullable=True),
    Column("available_to", DateTime(timezone=True), nullable=True),
    *_record_columns(),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("cluster_id", "code", name="uq_units_cluster_code"),
    ForeignKeyConstraint(["community_id"], ["community.communities.id"]),
    ForeignKeyConstraint(["cluster_id"], ["community.clusters.id"]),
    Index("ix_units_company_id", "company_id"),
    Index("ix_units_community_id", "community_id"),
)

# A member linked to a unit is its resident. user_id: the gateway's user id.
unit_residents = Table(
    "unit_residents",
    metadata,
    Column("unit_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("unit_id", "user_id"),
    ForeignKeyConstraint(["unit_id"], ["community.units.id"], ondelete="CASCADE"),
    Index("ix_unit_residents_company_user", "company_id", "user_id"),
)
