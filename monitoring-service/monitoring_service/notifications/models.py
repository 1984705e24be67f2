"""Tables of notifications: each community's settings, and one delivery per (event, channel)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ..db import metadata

CHANNELS = ("email", "webhook")
STATES = ("pending", "delivered", "dead", "cancelled")

# One row per community that has settings of its own; a community without a row gets the defaults.
notification_settings = Table(
    "notification_settings",
    metadata,
    Column("company_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("notify_to", ARRAY(String(254))),  # null: the default recipients; empty: no e-mail
    Column("time_zone", String(64)),  # null: MONITORING_NOTIFY_TIME_ZONE
    Column("webhook_url", String(2048)),
    Column("webhook_secret", String(256)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("company_id", "community_code"),
    CheckConstraint("(webhook_url IS NULL) = (webhook_secret IS NULL)", name="ck_notification_settings_webhook"),
)

# What the notifier recorded from a failure event, and where its delivery stands. The e-mail is rendered
# when recorded (subject, body, recipients); a webhook's URL and secret are read when it is sent.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("company_id", BigInteger, nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("failure_id", BigInteger, nullable=False),
    Column("community_code", String(64), nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("recipients", ARRAY(String(254))),  # e-mail
    Column("subject", Text),  # e-mail
    Column("message_id", String(255)),  # e-mail: derived from the event id
    Column("body", Text, nullable=False),  # e-mail text, or the webhook's JSON body
    UniqueConstraint("event_id", "channel", name="uq_notification_deliveries_event_channel"),
    CheckConstraint("channel IN ('email', 'webhook')", name="ck_notification_deliveries_channel"),
    CheckConstraint("state IN ('pending', 'delivered', 'dead', 'cancelled')", name="ck_notification_deliveries_state"),
    # the dispatcher's claim: due pending rows
    Index("ix_notification_deliveries_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    # per failure and channel in order: an older pending delivery holds back the newer ones
    Index(
        "ix_notification_deliveries_failure",
        "company_id",
        "failure_id",
        "channel",
        "id",
        postgresql_where=text("state = 'pending'"),
    ),
    # the operators' listing
    Index("ix_notification_deliveries_community", "company_id", "community_code", "id"),
)
