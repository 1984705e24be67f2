"""SQL of rollups: the readings a recomputation needs, and the day rows of quarter arrays."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ..db import SCHEMA
from .models import rollup_days
from .quarters import DAY_US, NAN, QUARTERS_PER_DAY, Quarters, from_us

_EPOCH_DAY = date(1970, 1, 1)
_SWAP = sys.byteorder != "little"  # stored little-endian


def _pack(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _unpack(typecode: str, data: bytes | None, default: float | int) -> array:
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


async def readings_between(conn: Any, series_id: int, start_us: int, end_us: int) -> tuple[list[int], list[float]]:
    """Instants (µs since the epoch) and values (float) of the readings in ``[start, end]``, by time."""
    rows = await conn.fetch(
        f"SELECT (extract(epoch FROM ts) * 1000000)::bigint AS us, value::float8 AS v FROM {SCHEMA}.readings "
        "WHERE series_id = $1 AND ts BETWEEN $2 AND $3 ORDER BY ts",
        series_id,
        from_us(start_us),
        from_us(end_us),
    )
    return [r[0] for r in rows], [r[1] for r in rows]


async def load_days(conn: Any, series_id: int, first_day: int, end_day: int, *, extremes: bool = True) -> Quarters:
    """The stored quarters of the UTC days ``[first_day, end_day)`` (day indices since the epoch) as one
    run; days without a row have no data."""
    count = (end_day - first_day) * QUARTERS_PER_DAY
    out = Quarters.empty(first_day * QUARTERS_PER_DAY, count)
    columns = "day, value, covered, resets" + (", minimum, maximum" if extremes else "")
    rows = await conn.fetch(
        f"SELECT {columns} FROM {SCHEMA}.rollup_days WHERE series_id = $1 AND day >= $2 AND day < $3",
        series_id,
        day_of(first_day),
        day_of(end_day),
    )
    for r in rows:
        k = (day_index(r["day"]) - first_day) * QUARTERS_PER_DAY
        window = slice(k, k + QUARTERS_PER_DAY)
        out.value[window] = _unpack("d", r["value"], 0.0)
        out.covered[window] = _unpack("d", r["covered"], 0.0)
        out.resets[window] = _unpack("B", r["resets"], 0)
        if extremes:
            out.minimum[window] = _unpack("d", r["minimum"], NAN)
            out.maximum[window] = _unpack("d", r["maximum"], NAN)
    return out


def _day_row(series_id: int, cumulative: bool, quarters: Quarters, k: int) -> tuple[Any, ...] | None:
    window = slice(k, k + QUARTERS_PER_DAY)
    covered = quarters.covered[window]
    resets = quarters.resets[window]
    has_resets = resets.count(0) != QUARTERS_PER_DAY
    if covered.count(0.0) == QUARTERS_PER_DAY and not has_resets:
        return None
    return (
        series_id,
        day_of((quarters.first + k) // QUARTERS_PER_DAY),
        _pack(quarters.value[window]),
        _pack(covered),
        None if cumulative else _pack(quarters.minimum[window]),
        None if cumulative else _pack(quarters.maximum[window]),
        _pack(resets) if has_resets else None,
    )


async def store_days(conn: Any, series_id: int, cumulative: bool, quarters: Quarters, days: Sequence[int]) -> None:
    """Replace the rows of the given UTC days (offsets in days from the run's first day) by the run's
    quarters; a day left without data loses its row."""
    rows = []
    for d in days:
        row = _day_row(series_id, cumulative, quarters, d * QUARTERS_PER_DAY)
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
            columns=["series_id", "day", "value", "covered", "minimum", "maximum", "resets"],
            records=rows,
        )


async def load_many(conn: Any, series_ids: Sequence[int], first_day: int, end_day: int) -> dict[int, list[Any]]:
    """The stored ``value`` and ``covered`` arrays of several series over UTC days ``[first_day, end_day)``:
    {series id: rows (day, value bytes, covered bytes)} (the energy balance)."""
    rows = await conn.fetch(
        f"SELECT series_id, day, value, covered FROM {SCHEMA}.rollup_days "
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
