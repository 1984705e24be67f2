"""kernel step 3: indexes by which the outbox relay prunes the kernel tables in the "asset" schema

Revision ID: 0007
Revises: 0006
"""

from gridcommons.migrations import create_prune_indexes, drop_prune_indexes

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "asset"


def upgrade() -> None:
    create_prune_indexes(SCHEMA)


def downgrade() -> None:
    drop_prune_indexes(SCHEMA)
