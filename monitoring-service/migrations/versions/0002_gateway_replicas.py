"""kernel step 2: replicas of the gateway's revoked tokens and memberships in the "monitoring" schema

Revision ID: 0002
Revises: 0001
"""

from gridcommons.migrations import create_replica_tables, drop_replica_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    create_replica_tables(SCHEMA)


def downgrade() -> None:
    drop_replica_tables(SCHEMA)
