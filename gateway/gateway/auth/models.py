"""Tables of the gateway schema: users, companies, memberships, machine clients, tokens."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)

from .db import metadata

ROLES = ("admin", "operator", "member")

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("email", String(254), nullable=False, server_default=""),
    Column("password_hash", Text, nullable=False),
    Column("first_name", String(150), nullable=False, server_default=""),
    Column("last_name", String(150), nullable=False, server_default=""),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("is_superuser", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Usernames are unique case-insensitively ("Admin" cannot shadow "admin").
    Index("uq_users_username_lower", func.lower(text("username")), unique=True),
)

companies = Table(
    "companies",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", BigInteger, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False),
    Column("company_id", BigInteger, ForeignKey(companies.c.id, ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "company_id"),
    CheckConstraint("role IN ('admin', 'operator', 'member')", name="role"),
    Index("ix_memberships_company", "company_id"),
)

machine_clients = Table(
    "machine_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(128), nullable=False),
    Column("company_id", BigInteger, ForeignKey(companies.c.id, ondelete="CASCADE"), nullable=False),
    Column("name", String(150), nullable=False),
    Column("request_budget_per_minute", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("request_budget_per_minute IS NULL OR request_budget_per_minute > 0", name="budget"),
    Index("ix_machine_clients_company", "company_id"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=True),
    Column("client_id", String(64), ForeignKey(machine_clients.c.client_id, ondelete="CASCADE"), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("family", String(64), nullable=True),  # the refresh family it was issued in (revoked with it)
    CheckConstraint("(user_id IS NULL) <> (client_id IS NULL)", name="owner"),
    Index("ix_tokens_user_live", "user_id", postgresql_where=text("revoked_at IS NULL")),
    Index("ix_tokens_client_live", "client_id", postgresql_where=text("revoked_at IS NULL")),
    Index("ix_tokens_revoked_at", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")),
    Index("ix_tokens_family", "family", postgresql_where=text("family IS NOT NULL")),
)

# Invitations into a company (gateway README "Invitations"). ``user_id`` is the account the
# invitee (a username or an e-mail, as typed by the admin) resolved to when the invitation was
# made; NULL when it resolved to nobody (never delivered, answered the same to the admin).
invitations = Table(
    "invitations",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("company_id", BigInteger, ForeignKey(companies.c.id, ondelete="CASCADE"), nullable=False),
    Column("invitee", String(254), nullable=False),
    Column("user_id", BigInteger, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=True),
    Column("role", String(16), nullable=False),
    Column("invited_by", BigInteger, ForeignKey(users.c.id, ondelete="SET NULL"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('admin', 'operator', 'member')", name="role"),
    Index("ix_invitations_company", "company_id"),
    Index("ix_invitations_user", "user_id"),
)

# Refresh tokens of the OAuth2 password grant: opaque, stored as a SHA-256 digest, one row per
# token; every rotation adds a row to the same ``family`` and marks the old one ``rotated_at``.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family", String(64), nullable=False),
    Column("user_id", BigInteger, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_tokens_family", "family"),
    Index("ix_refresh_tokens_user", "user_id"),
)

# Change log of the cached directory facts (user, company, membership, machine client), read by
# every replica's fallback poll; rows older than a day are pruned.
directory_changes = Table(
    "directory_changes",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_directory_changes_changed_at", "changed_at"),
)
