"""the replica of the community registry (communities, clusters, units with their residents) in the "gateway" schema

Revision ID: 0004
Revises: 0003
"""

from gridcommons.migrations import create_community_replica_tables, drop_community_replica_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "gateway"


def upgrade() -> None:
    create_community_replica_tables(SCHEMA)


def downgrade() -> None:
    drop_community_replica_tables(SCHEMA)
