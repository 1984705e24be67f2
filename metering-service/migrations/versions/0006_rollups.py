"""rollups: quarter-hour rollups of each series, one row per UTC day

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def upgrade() -> None:
    op.create_table(
        "rollup_days",
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("covered", sa.LargeBinary, nullable=False),
        sa.Column("minimum", sa.LargeBinary, nullable=True),
        sa.Column("maximum", sa.LargeBinary, nullable=True),
        sa.Column("resets", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("series_id", "day", name="pk_rollup_days"),
        schema=SCHEMA,
    )
    # value and covered (768 bytes each) stay in the row, read by the energy balance without
    # decompression; minimum and maximum go out of line uncompressed (a row would exceed the 2 kB
    # threshold at which PostgreSQL starts compressing its columns).
    for column in ("minimum", "maximum"):
        op.execute(f"ALTER TABLE {SCHEMA}.rollup_days ALTER COLUMN {column} SET STORAGE EXTERNAL")
    for column in ("value", "covered"):
        op.execute(f"ALTER TABLE {SCHEMA}.rollup_days ALTER COLUMN {column} SET STORAGE PLAIN")


def downgrade() -> None:
    op.drop_table("rollup_days", schema=SCHEMA)
