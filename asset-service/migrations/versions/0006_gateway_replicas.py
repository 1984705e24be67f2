"""kernel step 2: replicas of the gateway's revoked tokens and memberships in the "asset" schema

Revision ID: 0006
Revises: 0005
"""

from gridcommons.migrations import create_replica_tables, drop_replica_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "asset"


def upgrade() -> None:
    create_replica_tables(SCHEMA)


def downgrade() -> None:
    drop_replica_tables(SCHEMA)
