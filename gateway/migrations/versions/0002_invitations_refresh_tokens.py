"""invitations, refresh tokens (rotating families), the family of an access token

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "gateway"


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "invitations",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("company_id", sa.BigInteger, sa.ForeignKey(f"{S}.companies.id", ondelete="CASCADE"), nullable=False),
        # What the inviting admin typed (username or e-mail); shown back to the company's admins only.
        sa.Column("invitee", sa.String(254), nullable=False),
        # The account it was resolved to when it was made; NULL: nobody (the invitation is never delivered).
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by", sa.BigInteger, sa.ForeignKey(f"{S}.users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'member')", name="ck_invitations_role"),
        schema=S,
    )
    op.create_index("ix_invitations_company", "invitations", ["company_id"], schema=S)
    op.create_index("ix_invitations_user", "invitations", ["user_id"], schema=S)

    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 hex of the opaque token
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        schema=S,
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"], schema=S)
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["user_id"], schema=S)

    # The refresh family an access token was issued in (revoked with it); NULL for other tokens.
    op.add_column("tokens", sa.Column("family", sa.String(64), nullable=True), schema=S)
    op.create_index("ix_tokens_family", "tokens", ["family"], schema=S, postgresql_where=sa.text("family IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_tokens_family", table_name="tokens", schema=S)
    op.drop_column("tokens", "family", schema=S)
    op.drop_table("refresh_tokens", schema=S)
    op.drop_table("invitations", schema=S)
