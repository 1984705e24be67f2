from sqlalchemy import BigInteger, Column, Date, LargeBinary, PrimaryKeyConstraint, Table

from ..db import metadata

# Quarter-hour rollups of a series, one row per UTC day: 96 quarters packed as little-endian arrays
# (``quarters.Quarters``): ``value`` and ``covered`` float64, ``minimum``/``maximum`` float64 (instantaneous
# series only, else NULL), ``resets`` one byte per quarter (NULL when none). A day without any covered
# quarter or reset has no row. Hours, days and months of any time zone are aggregated from them on read.
rollup_days = Table(
    "rollup_days",
    metadata,
    Column("series_id", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("covered", LargeBinary, nullable=False),
    Column("minimum", LargeBinary, nullable=True),
    Column("maximum", LargeBinary, nullable=True),
    Column("resets", LargeBinary, nullable=True),
    PrimaryKeyConstraint("series_id", "day"),
)
