"""registry (communities, clusters, units, unit residents) and scenarios with the choice history

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "community"


def _record_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False)


def _code() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("code", sa.String(64, collation="C"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "communities",
        _id(),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        _code(),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_communities"),
        sa.UniqueConstraint("company_id", "code", name="uq_communities_company_code"),
        schema=SCHEMA,
    )
    op.create_table(
        "clusters",
        _id(),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("community_id", sa.BigInteger, nullable=False),
        _code(),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_clusters"),
        sa.UniqueConstraint("community_id", "code", name="uq_clusters_community_code"),
        sa.ForeignKeyConstraint(
            ["community_id"], [f"{SCHEMA}.communities.id"], name="fk_clusters_community_id_communities"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_clusters_company_id", "clusters", ["company_id"], schema=SCHEMA)
    op.create_table(
        "units",
        _id(),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("community_id", sa.BigInteger, nullable=False),
        sa.Column("cluster_id", sa.BigInteger, nullable=False),
        _code(),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_to", sa.DateTime(timezone=True), nullable=True),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("cluster_id", "code", name="uq_units_cluster_code"),
        sa.ForeignKeyConstraint(
            ["community_id"], [f"{SCHEMA}.communities.id"], name="fk_units_community_id_communities"
        ),
        sa.ForeignKeyConstraint(["cluster_id"], [f"{SCHEMA}.clusters.id"], name="fk_units_cluster_id_clusters"),
        schema=SCHEMA,
    )
    op.create_index("ix_units_company_id", "units", ["company_id"], schema=SCHEMA)
    op.create_index("ix_units_community_id", "units", ["community_id"], schema=SCHEMA)
    op.create_table(
        "unit_residents",
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("unit_id", "user_id", name="pk_unit_residents"),
        sa.ForeignKeyConstraint(
            ["unit_id"], [f"{SCHEMA}.units.id"], name="fk_unit_residents_unit_id_units", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_unit_residents_company_user", "unit_residents", ["company_id", "user_id"], schema=SCHEMA)
    op.create_table(
        "scenarios",
        _id(),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("community_id", sa.BigInteger, nullable=True),
        sa.Column("cluster_id", sa.BigInteger, nullable=True),
        sa.Column("unit_id", sa.BigInteger, nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scenarios"),
        sa.CheckConstraint(
            "(community_id IS NULL AND cluster_id IS NULL AND unit_id IS NULL)"
            " OR (community_id IS NOT NULL AND cluster_id IS NULL AND unit_id IS NULL)"
            " OR (community_id IS NOT NULL AND cluster_id IS NOT NULL AND unit_id IS NULL)"
            " OR (community_id IS NOT NULL AND cluster_id IS NOT NULL AND unit_id IS NOT NULL)",
            name="ck_scenarios_scope_pattern",
        ),
        sa.UniqueConstraint(
            "company_id",
            "community_id",
            "cluster_id",
            "unit_id",
            "name",
            name="uq_scenarios_scope_name",
            postgresql_nulls_not_distinct=True,
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], [f"{SCHEMA}.communities.id"], name="fk_scenarios_community_id_communities"
        ),
        sa.ForeignKeyConstraint(["cluster_id"], [f"{SCHEMA}.clusters.id"], name="fk_scenarios_cluster_id_clusters"),
        sa.ForeignKeyConstraint(["unit_id"], [f"{SCHEMA}.units.id"], name="fk_scenarios_unit_id_units"),
        schema=SCHEMA,
    )
    op.create_table(
        "scenario_choices",
        _id(),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        sa.Column("scenario_id", sa.BigInteger, nullable=True),
        sa.Column("chosen_by", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_choices"),
        sa.ForeignKeyConstraint(["unit_id"], [f"{SCHEMA}.units.id"], name="fk_scenario_choices_unit_id_units"),
        sa.ForeignKeyConstraint(
            ["scenario_id"], [f"{SCHEMA}.scenarios.id"], name="fk_scenario_choices_scenario_id_scenarios"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_scenario_choices_unit_latest", "scenario_choices", ["unit_id", "created_at", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    for table in ("scenario_choices", "scenarios", "unit_residents", "units", "clusters", "communities"):
        op.drop_table(table, schema=SCHEMA)
