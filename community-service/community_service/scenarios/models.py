"""Scenarios (device operating documents, stored verbatim) and each unit's choice history.

A scenario's scope is one of: global (no ids), a community, a cluster of it, or a unit of that
cluster; the CHECK refuses every other pattern. Names are unique per scope, NULL scopes included
(NULLS NOT DISTINCT).
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from ..db import metadata

SCOPE_PATTERNS = (
    "(community_id IS NULL AND cluster_id IS NULL AND unit_id IS NULL)"
    " OR (community_id IS NOT NULL AND cluster_id IS NULL AND unit_id IS NULL)"
    " OR (community_id IS NOT NULL AND cluster_id IS NOT NULL AND unit_id IS NULL)"
    " OR (community_id IS NOT NULL AND cluster_id IS NOT NULL AND unit_id IS NOT NULL)"
)

scenarios = Table(
    "scenarios",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("community_id", BigInteger, nullable=True),
    Column("cluster_id", BigInteger, nullable=True),
    Column("unit_id", BigInteger, nullable=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("data", Text, nullable=False),  # the JSON document byte for byte, as devices read it back
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("id"),
    CheckConstraint(SCOPE_PATTERNS, name="scope_pattern"),
    UniqueConstraint(
        "company_id",
        "community_id",
        "cluster_id",
        "unit_id",
        "name",
        name="uq_scenarios_scope_name",
        postgresql_nulls_not_distinct=True,
    ),
    ForeignKeyConstraint(["community_id"], ["community.communities.id"]),
    ForeignKeyConstraint(["cluster_id"], ["community.clusters.id"]),
    ForeignKeyConstraint(["unit_id"], ["community.units.id"]),
)

# Every choice a unit's resident made (scenario_id null: un-selected); the newest is current.
scenario_choices = Table(
    "scenario_choices",
    metadata,
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("unit_id", BigInteger, nullable=False),
    Column("scenario_id", BigInteger, nullable=True),
    Column("chosen_by", BigInteger, nullable=True),  # gateway user id of the resident
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["unit_id"], ["community.units.id"]),
    ForeignKeyConstraint(["scenario_id"], ["community.scenarios.id"]),
    Index("ix_scenario_choices_unit_latest", "unit_id", "created_at", "id"),
)
