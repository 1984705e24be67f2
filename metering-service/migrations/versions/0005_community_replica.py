"""the replica of the community registry (communities, clusters, units with their residents) in the "metering" schema

Revision ID: 0005
Revises: 0004
"""

from gridcommons.migrations import create_community_replica_tables, drop_community_replica_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def upgrade() -> None:
    create_community_replica_tables(SCHEMA)


def downgrade() -> None:
    drop_community_replica_tables(SCHEMA)
