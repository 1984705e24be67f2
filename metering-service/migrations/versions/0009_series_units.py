"""series linked to registry units: the members linked to those units (residents) read the series

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def upgrade() -> None:
    op.create_table(
        "series_units",
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.BigInteger, nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("series_id", "unit_id", name="pk_series_units"),
        sa.ForeignKeyConstraint(
            ["series_id"], [f"{SCHEMA}.series.id"], name="fk_series_units_series_id_series", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_series_units_company_unit", "series_units", ["company_id", "unit_id", "series_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("series_units", schema=SCHEMA)
