"""SQL of rollups: the readings a recomputation needs, and the day rows of quarter arrays."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ..db import SCHEMA
from .models import rollup_days
from .quarters import DAY_US, MICRO, NO_MAX, NO_MIN, QUARTERS_PER_DAY, VALUE_LIMIT, Quarters, RollupRange, from_us

_EPOCH_DAY = date(1970, 1, 1)
_SWAP = sys.byteorder != "little"  # stored little-endian


def _pack(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _unpack(typecode: str, data: bytes | None, default: int) -> array:
    if data is None:
        return array(typecode, [default]) * QUARTERS_PER_DAY
    out = array(typecode, data)
    if _SWAP:
        out.byteswap()
    return out


def day_of(index: int) -> date:
    return _EPOCH_DAY + timedelta(days=index)


def day_index(day: date) -> int:
    return (day - _EPOCH_DAY).days


async def last_instants(conn: Any, series_ids: Sequence[int]) -> dict[int, datetime]:
    """The latest stored reading's instant of each series that has one."""
    rows = await conn.fetch(
        f"SELECT s.id, (SELECT max(r.ts) FROM {SCHEMA}.readings r WHERE r.series_id = s.id) AS last "
        "FROM unnest($1::bigint[]) AS s(id)",
        list(series_ids),
    )
    return {r["id"]: r["last"] for r in rows if r["last"] is not None}


ROLLUP_LOCKS = 0x6D726F6C  # the first key of the rollups' advisory locks ("mrol"); the second: the series


async def lock_series(conn: Any, series_ids: Sequence[int]) -> None:
    """Transaction-level advisory locks on the series' rollups, taken in id order."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, (id % 2147483647)::int) FROM "
        "(SELECT DISTINCT id FROM unnest($2::bigint[]) AS u(id) ORDER BY id) AS s",
        ROLLUP_LOCKS,
        list(series_ids),
    )


# A reading's value in micro-units, rounded half-even (PostgreSQL's round() takes halves away from zero:
# a half is rounded as twice the half of it); NULL beyond the int64 range of the rollups.
MICRO_VALUE_SQL = f"""CASE
    WHEN abs(value) * {MICRO} > {VALUE_LIMIT} THEN NULL
    WHEN scale(value) <= 6 THEN (value * {MICRO})::bigint
    WHEN abs(value * {MICRO} - trunc(value * {MICRO})) = 0.5 THEN (2 * round(value * {MICRO} / 2))::bigint
    ELSE round(value * {MICRO})::bigint END"""


async def readings_between(conn: Any, series_id: int, start_us: int, end_us: int) -> tuple[list[int], list[int]]:
    """Instants (µs since the epoch) and values (micro-units, ``quarters.to_micro``) of the readings in
    ``[start, end]``, by time. Raises ``RollupRange`` for a value beyond the rollups' range."""
    rows = await conn.fetch(
        f"SELECT (extract(epoch FROM ts) * 1000000)::bigint AS us, {MICRO_VALUE_SQL} AS v FROM {SCHEMA}.readings "
        "WHERE series_id = $1 AND ts BETWEEN $2 AND $3 ORDER BY ts",
        series_id,
        from_us(start_us),
        from_us(end_us),
    )
    values = [r[1] for r in rows]
    if None in values:
        at = rows[values.index(None)][0]
        raise RollupRange(f"the reading at {from_us(at).isoformat()}")
    return [r[0] for r in rows], values


async def load_days(conn: Any, series_id: int, first_day: int, end_day: int, *, instantaneous: bool = True) -> Quarters:
    """The stored quarters of the UTC days ``[first_day, end_day)`` (day indices since the epoch) as one
    run; days without a row have no data. ``instantaneous``: also the remainders, minima and maxima."""
    count = (end_day - first_day) * QUARTERS_PER_DAY
    out = Quarters.empty(first_day * QUARTERS_PER_DAY, count)
    columns = "day, value, covered, resets" + (", remainder, minimum, maximum" if instantaneous else "")
    rows = await conn.fetch(
        f"SELECT {columns} FROM {SCHEMA}.rollup_days WHERE series_id = $1 AND day >= $2 AND day < $3",
        series_id,
        day_of(first_day),
        day_of(end_day),
    )
    for r in rows:
        k = (day_index(r["day"]) - first_day) * QUARTERS_PER_DAY
        window = slice(k, k + QUARTERS_PER_DAY)
        out.value[window] = _unpack("q", r["value"], 0)
        out.covered[window] = _unpack("i", r["covered"], 0)
        out.resets[window] = _unpack("B", r["resets"], 0)
        if instantaneous:
            out.remainder[window] = _unpack("i", r["remainder"], 0)
            out.minimum[window] = _unpack("q", r["minimum"], NO_MIN)
            out.maximum[window] = _unpack("q", r["maximum"], NO_MAX)
    return out


def day_row(series_id: int, cumulative: bool, quarters: Quarters, k: int) -> tuple[Any, ...] | None:
    """The ``rollup_days`` row of the day starting at offset ``k`` of the run (None: nothing to keep)."""
    window = slice(k, k + QUARTERS_PER_DAY)
    covered = quarters.covered[window]
    resets = quarters.resets[window]
    has_resets = resets.count(0) != QUARTERS_PER_DAY
    if covered.count(0) == QUARTERS_PER_DAY and not has_resets:
        return None
    remainder = None if cumulative else quarters.remainder[window]
    return (
        series_id,
        day_of((quarters.first + k) // QUARTERS_PER_DAY),
        _pack(quarters.value[window]),
        _pack(covered),
        None if remainder is None or remainder.count(0) == QUARTERS_PER_DAY else _pack(remainder),
        None if cumulative else _pack(quarters.minimum[window]),
        None if cumulative else _pack(quarters.maximum[window]),
        _pack(resets) if has_resets else None,
    )


COLUMNS = ["series_id", "day", "value", "covered", "remainder", "minimum", "maximum", "resets"]


async def store_days(conn: Any, series_id: int, cumulative: bool, quarters: Quarters, days: Sequence[int]) -> None:
    """Replace the rows of the given UTC days (offsets in days from the run's first day) by the run's
    quarters; a day left without data loses its row."""
    rows = []
    for d in days:
        row = day_row(series_id, cumulative, quarters, d * QUARTERS_PER_DAY)
        if row is not None:
            rows.append(row)
    first_day = quarters.first // QUARTERS_PER_DAY
    await conn.execute(
        f"DELETE FROM {SCHEMA}.rollup_days WHERE series_id = $1 AND day = ANY($2::date[])",
        series_id,
        [day_of(first_day + d) for d in days],
    )
    if rows:
        await conn.copy_records_to_table(
            rollup_days.name,
            schema_name=SCHEMA,
            columns=COLUMNS,
            records=rows,
        )


async def load_many(conn: Any, series_ids: Sequence[int], first_day: int, end_day: int) -> dict[int, list[Any]]:
    """The stored ``value``, ``covered`` and ``remainder`` arrays of several series over UTC days
    ``[first_day, end_day)``: {series id: rows (series id, day, value, covered, remainder bytes or None)}
    (the energy balance)."""
    rows = await conn.fetch(
        f"SELECT series_id, day, value, covered, remainder FROM {SCHEMA}.rollup_days "
        "WHERE series_id = ANY($1::bigint[]) AND day >= $2 AND day < $3",
        list(series_ids),
        day_of(first_day),
        day_of(end_day),
    )
    out: dict[int, list[Any]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r)
    return out


__all__ = ["DAY_US", "last_instants", "load_days", "load_many", "lock_series", "readings_between", "store_days"]
