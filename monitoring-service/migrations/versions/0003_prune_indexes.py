"""kernel step 3: indexes by which the outbox relay prunes the kernel tables in the "monitoring" schema

Revision ID: 0003
Revises: 0002
"""

from gridcommons.migrations import create_prune_indexes, drop_prune_indexes

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    create_prune_indexes(SCHEMA)


def downgrade() -> None:
    drop_prune_indexes(SCHEMA)
