from sqlalchemy import BigInteger, Column, Date, LargeBinary, PrimaryKeyConstraint, Table

from ..db import metadata

# Quarter-hour rollups of a series, one row per UTC day: 96 quarters packed as little-endian arrays
# (``quarters.Quarters``, exact integers): ``value`` int64 micro-units of the series' unit, ``covered`` int32
# microseconds, ``remainder`` int32 (instantaneous series: what the floor average leaves of the exact
# integral; NULL when all zero), ``minimum``/``maximum`` int64 micro-units (instantaneous series only, else
# NULL), ``resets`` one byte per quarter (NULL when none). A day without any covered quarter or reset has no
# row. Hours, days and months of any time zone are aggregated from them on read.
rollup_days = Table(
    "rollup_days",
    metadata,
    Column("series_id", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("covered", LargeBinary, nullable=False),
    Column("remainder", LargeBinary, nullable=True),
    Column("minimum", LargeBinary, nullable=True),
    Column("maximum", LargeBinary, nullable=True),
    Column("resets", LargeBinary, nullable=True),
    PrimaryKeyConstraint("series_id", "day"),
)
