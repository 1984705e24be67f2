"""initial: kernel tables (outbox, processed_events), users, companies, memberships, machine clients, tokens

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from gateway.auth.db import outbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "gateway"


def upgrade() -> None:
    bind = op.get_bind()
    outbox.table.create(bind)
    outbox.processed_table.create(bind)
    now = sa.text("now()")

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, server_default=""),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("first_name", sa.String(150), nullable=False, server_default=""),
        sa.Column("last_name", sa.String(150), nullable=False, server_default=""),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("is_superuser", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.UniqueConstraint("username", name="uq_users_username"),
        schema=S,
    )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True, schema=S)

    op.create_table(
        "companies",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.UniqueConstraint("name", name="uq_companies_name"),
        schema=S,
    )

    op.create_table(
        "memberships",
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("company_id", sa.BigInteger, sa.ForeignKey(f"{S}.companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.PrimaryKeyConstraint("user_id", "company_id", name="pk_memberships"),
        sa.CheckConstraint("role IN ('admin', 'operator', 'member')", name="ck_memberships_role"),
        schema=S,
    )
    op.create_index("ix_memberships_company", "memberships", ["company_id"], schema=S)

    op.create_table(
        "machine_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("company_id", sa.BigInteger, sa.ForeignKey(f"{S}.companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("request_budget_per_minute", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "request_budget_per_minute IS NULL OR request_budget_per_minute > 0", name="ck_machine_clients_budget"
        ),
        schema=S,
    )
    op.create_index("ix_machine_clients_company", "machine_clients", ["company_id"], schema=S)

    op.create_table(
        "tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=True),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey(f"{S}.machine_clients.client_id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(user_id IS NULL) <> (client_id IS NULL)", name="ck_tokens_owner"),
        schema=S,
    )
    op.create_index(
        "ix_tokens_user_live", "tokens", ["user_id"], schema=S, postgresql_where=sa.text("revoked_at IS NULL")
    )
    op.create_index(
        "ix_tokens_client_live", "tokens", ["client_id"], schema=S, postgresql_where=sa.text("revoked_at IS NULL")
    )
    op.create_index(
        "ix_tokens_revoked_at", "tokens", ["revoked_at"], schema=S, postgresql_where=sa.text("revoked_at IS NOT NULL")
    )

    op.create_table(
        "directory_changes",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=S,
    )
    op.create_index("ix_directory_changes_changed_at", "directory_changes", ["changed_at"], schema=S)


def downgrade() -> None:
    for name in ("directory_changes", "tokens", "machine_clients", "memberships", "companies", "users"):
        op.drop_table(name, schema=S)
    bind = op.get_bind()
    outbox.processed_table.drop(bind)
    outbox.table.drop(bind)
