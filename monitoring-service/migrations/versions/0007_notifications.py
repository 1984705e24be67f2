"""notifications: each community's settings, and one delivery per (failure event, channel)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("notify_to", ARRAY(sa.String(254))),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("webhook_url", sa.String(2048)),
        sa.Column("webhook_secret", sa.String(256)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("company_id", "community_code"),
        sa.CheckConstraint("(webhook_url IS NULL) = (webhook_secret IS NULL)", name="ck_notification_settings_webhook"),
        schema=SCHEMA,
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("failure_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("recipients", ARRAY(sa.String(254))),
        sa.Column("subject", sa.Text()),
        sa.Column("message_id", sa.String(255)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("event_id", "channel", name="uq_notification_deliveries_event_channel"),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name="ck_notification_deliveries_channel"),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'dead', 'cancelled')", name="ck_notification_deliveries_state"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_notification_deliveries_failure",
        "notification_deliveries",
        ["company_id", "failure_id", "channel", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_notification_deliveries_community",
        "notification_deliveries",
        ["company_id", "community_code", "id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries", schema=SCHEMA)
    op.drop_table("notification_settings", schema=SCHEMA)
