"""initial: kernel tables (outbox, processed_events) in the "monitoring" schema

Revision ID: 0001
"""

from gridcommons.migrations import create_kernel_tables, drop_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    create_kernel_tables(SCHEMA)


def downgrade() -> None:
    drop_kernel_tables(SCHEMA)
