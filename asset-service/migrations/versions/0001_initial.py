"""initial: kernel tables (outbox, processed_events), assets, asset id sequences

Revision ID: 0001
"""
from alembic import op

from asset_service.assets.models import asset_id_sequences, assets
from asset_service.db import outbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [outbox.table, outbox.processed_table, assets, asset_id_sequences]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)
    op.create_index("ix_assets_company_created", "assets", ["company_id", "created_at"], schema="asset")


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
