"""rollups exact: the quarter arrays of rollup_days as integers (micro-units of the series' unit and
microseconds) instead of float64, with the remainders that keep instantaneous integrals exact

Every stored day is recomputed from its readings with the service's rollup rules
(``metering_service.rollups``); a day whose readings are gone (dropped partitions) keeps its float
figures converted: rounded half-even to the micro-unit and the microsecond. Readings beyond the rollups'
range (±9.2·10¹² units, refused by the ingestion since) are left out of the recomputation. The downgrade
converts back to float64.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from metering_service.rollups.quarters import (
    DAY_US,
    MICRO,
    NO_MAX,
    NO_MIN,
    QUARTERS_PER_DAY,
    VALUE_LIMIT,
    Quarters,
    compute,
    from_us,
)
from metering_service.rollups.repository import MICRO_VALUE_SQL, day_row

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCHEMA = "metering"
_EPOCH_DAY = date(1970, 1, 1)
_SWAP = sys.byteorder != "little"


def _unpack(typecode: str, data: bytes | None, default: Any) -> array:
    if data is None:
        return array(typecode, [default]) * QUARTERS_PER_DAY
    out = array(typecode, data)
    if _SWAP:
        out.byteswap()
    return out


def _pack(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _scaled(x: float, factor: int, limit: int = VALUE_LIMIT) -> int:
    n = int((Decimal(x) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return max(-limit, min(limit, n))


def _converted(row: Any, cumulative: bool) -> tuple[Any, ...] | None:
    """An old float row as an integer one (its readings are gone: nothing to recompute from)."""
    value = [_scaled(v, MICRO) if v == v else 0 for v in _unpack("d", row.value, 0.0)]
    covered = [_scaled(c, 1_000_000, 900_000_000) if c == c else 0 for c in _unpack("d", row.covered, 0.0)]
    quarters = Quarters.empty(0, QUARTERS_PER_DAY)
    quarters.value[:] = array("q", value)
    quarters.covered[:] = array("i", covered)
    if not cumulative:
        quarters.minimum[:] = array(
            "q", [_scaled(m, MICRO) if m == m else NO_MIN for m in _unpack("d", row.minimum, math.nan)]
        )
        quarters.maximum[:] = array(
            "q", [_scaled(m, MICRO) if m == m else NO_MAX for m in _unpack("d", row.maximum, math.nan)]
        )
    quarters.resets[:] = _unpack("B", row.resets, 0)
    quarters.first = (row.day - _EPOCH_DAY).days * QUARTERS_PER_DAY
    return day_row(row.series_id, cumulative, quarters, 0)


def upgrade() -> None:
    op.add_column("rollup_days", sa.Column("remainder", sa.LargeBinary, nullable=True), schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.rollup_days ALTER COLUMN remainder SET STORAGE PLAIN")
    bind = op.get_bind()
    kinds = dict(bind.execute(sa.text(f"SELECT id, kind FROM {SCHEMA}.series")).all())
    rows_of: dict[int, list[Any]] = defaultdict(list)
    for row in bind.execute(
        sa.text(f"SELECT series_id, day, value, covered, minimum, maximum, resets FROM {SCHEMA}.rollup_days")
    ):
        rows_of[row.series_id].append(row)
    new_rows: list[tuple[Any, ...]] = []
    for series_id, rows in rows_of.items():
        cumulative = kinds.get(series_id) == "cumulative"
        days = sorted((r.day - _EPOCH_DAY).days for r in rows)
        first_day, end_day = days[0], days[-1] + 1
        readings = bind.execute(
            sa.text(
                f"SELECT (extract(epoch FROM ts) * 1000000)::bigint AS us, {MICRO_VALUE_SQL} AS v "
                f"FROM {SCHEMA}.readings WHERE series_id = :s AND ts BETWEEN :a AND :b ORDER BY ts"
            ),
            {"s": series_id, "a": from_us(first_day * DAY_US), "b": from_us(end_day * DAY_US)},
        ).all()
        kept = [r for r in readings if r.v is not None]
        quarters = compute(
            cumulative,
            [r.us for r in kept],
            [r.v for r in kept],
            first_day * QUARTERS_PER_DAY,
            (end_day - first_day) * QUARTERS_PER_DAY,
        )
        with_readings = {r.us // DAY_US for r in readings}
        old = {(r.day - _EPOCH_DAY).days: r for r in rows}
        for d in range(first_day, end_day):
            if d in with_readings:
                recomputed = day_row(series_id, cumulative, quarters, (d - first_day) * QUARTERS_PER_DAY)
                if recomputed is not None:
                    new_rows.append(recomputed)
            elif d in old:
                converted = _converted(old[d], cumulative)
                if converted is not None:
                    new_rows.append(converted)
    op.execute(f"DELETE FROM {SCHEMA}.rollup_days")
    _insert(new_rows)


def _insert(rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    columns = ["series_id", "day", "value", "covered", "remainder", "minimum", "maximum", "resets"]
    op.get_bind().execute(
        sa.text(
            f"INSERT INTO {SCHEMA}.rollup_days ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        ),
        [dict(zip(columns, row, strict=True)) for row in rows],
    )


def downgrade() -> None:
    bind = op.get_bind()
    kinds = dict(bind.execute(sa.text(f"SELECT id, kind FROM {SCHEMA}.series")).all())
    rows = bind.execute(
        sa.text(f"SELECT series_id, day, value, covered, remainder, minimum, maximum, resets FROM {SCHEMA}.rollup_days")
    ).all()
    old_rows = []
    for r in rows:
        cumulative = kinds.get(r.series_id) == "cumulative"
        value = _unpack("q", r.value, 0)
        covered = _unpack("i", r.covered, 0)
        remainder = _unpack("i", r.remainder, 0)
        if cumulative:
            floats = array("d", (v / MICRO for v in value))
        else:
            floats = array(
                "d", ((v * c + e) / c / MICRO if c else 0.0 for v, c, e in zip(value, covered, remainder, strict=True))
            )
        extremes = [
            None
            if r._mapping[column] is None
            else _pack(
                array(
                    "d", (math.nan if m in (NO_MIN, NO_MAX) else m / MICRO for m in _unpack("q", r._mapping[column], 0))
                )
            )
            for column in ("minimum", "maximum")
        ]
        old_rows.append(
            {
                "series_id": r.series_id,
                "day": r.day,
                "value": _pack(floats),
                "covered": _pack(array("d", (c / 1e6 for c in covered))),
                "minimum": extremes[0],
                "maximum": extremes[1],
                "resets": r.resets,
            }
        )
    op.execute(f"DELETE FROM {SCHEMA}.rollup_days")
    op.drop_column("rollup_days", "remainder", schema=SCHEMA)
    if old_rows:
        bind.execute(
            sa.text(
                f"INSERT INTO {SCHEMA}.rollup_days (series_id, day, value, covered, minimum, maximum, resets) "
                "VALUES (:series_id, :day, :value, :covered, :minimum, :maximum, :resets)"
            ),
            old_rows,
        )
