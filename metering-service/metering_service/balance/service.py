"""The energy balance of production and consumption series, per quarter hour, from their rollups.

Per quarter hour: P (sum of the production series' energy), C (the consumption series'), self-consumed
S = min(P, C), exported P − S, from the grid C − S; summed per local day and over the period. The
series' quarter-hour rollups give the energy: a register's counted energy, or a power series' average
× covered time. A series without data in a quarter adds nothing there and shows in the coverage.

The sums run over plain float lists with ``map`` (C loops): a year × 51 series is 1.8 M quarter values.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.timeutil import calendar_buckets

from ..readings.repository import driver_connection
from ..rollups import repository as rollups_repository
from ..rollups.quarters import QUARTER_US, QUARTERS_PER_DAY, from_us, to_us
from ..rollups.service import check_timezone
from .schemas import EnergyBalanceRequest

# kWh per unit of energy (cumulative series) or per unit·hour of power (instantaneous series)
ENERGY_KWH = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
POWER_KW = {"W": 0.001, "kW": 1.0, "MW": 1000.0}
SERIES = "SELECT id, kind, unit, timezone FROM metering.series WHERE company_id = $1 AND id = ANY($2::bigint[])"


@dataclass
class Side:
    """The summed energy (kWh) and the count of series with data, per quarter of the run."""

    energy: list[float]
    received: list[int]


def _side(
    rows_of: dict[int, list[Any]], series: Sequence[int], info: dict[int, Any], first_day: int, count: int
) -> Side:
    """Sum the series day by day: the day's arrays of every series zipped, each quarter summed in C."""
    days: dict[int, list[tuple[Any, Any, float, bool]]] = {}
    for sid in series:
        power = info[sid]["kind"] == "instantaneous"
        factor = POWER_KW[info[sid]["unit"]] / 3600.0 if power else ENERGY_KWH[info[sid]["unit"]]
        for row in rows_of.get(sid, ()):
            days.setdefault(rollups_repository.day_index(row[1]), []).append((row[2], row[3], factor, power))
    energy = [0.0] * count
    received = [0] * count
    for day, rows in days.items():
        values = []
        covers = []
        for value, covered, factor, power in rows:
            quarter: Any = array("d", value)
            cover = array("d", covered)
            if power:  # kW × s → kWh
                quarter = map(operator.mul, quarter, cover)
            if factor != 1.0:
                quarter = array("d", map(factor.__mul__, quarter))
            values.append(quarter)
            covers.append(cover)
        k = (day - first_day) * QUARTERS_PER_DAY
        window = slice(k, k + QUARTERS_PER_DAY)
        energy[window] = map(sum, zip(*values, strict=True)) if len(values) > 1 else values[0]
        n = len(covers)
        received[window] = [n - t.count(0.0) for t in zip(*covers, strict=True)]
    return Side(energy, received)


def _figures(p: float, c: float, s: float, expected: int, received: int) -> dict[str, Any]:
    return {
        "production": p,
        "consumption": c,
        "self_consumed": s,
        "exported": p - s,
        "from_grid": c - s,
        "coverage": {"expected": expected, "received": received},
    }


async def energy_balance(session: AsyncSession, company_id: int, body: EnergyBalanceRequest) -> dict[str, Any]:
    """The balance as the JSON-ready shape of ``EnergyBalanceResponse`` (built as plain dicts: a year of
    intervals is 35,040 of them)."""
    conn = await driver_connection(session)
    ids = [*body.production, *body.consumption]
    info = {r["id"]: r for r in await conn.fetch(SERIES, company_id, ids)}
    missing = [i for i in ids if i not in info]
    if missing:
        raise NotFound(f"Series {missing[0]} not found")
    errors = []
    for side in ("production", "consumption"):
        for index, sid in enumerate(getattr(body, side)):
            kind, unit = info[sid]["kind"], info[sid]["unit"]
            if (kind == "cumulative" and unit not in ENERGY_KWH) or (kind == "instantaneous" and unit not in POWER_KW):
                errors.append(
                    field_error(
                        ["body", side, index],
                        f"series {sid} ({kind}, {unit}) is neither an active energy register (Wh, kWh, MWh) nor an "
                        "active power series (W, kW, MW)",
                        sid,
                    )
                )
    zones = {info[i]["timezone"] for i in ids}
    if body.tz is None and len(zones) > 1:
        errors.append(field_error(["body", "tz"], "the series have different time zones: name one", None))
    if errors:
        raise ValidationFailed(errors)
    zone = check_timezone(body.tz, next(iter(zones)))
    if body.tz is not None and body.tz != zone.key:
        raise ValidationFailed([field_error(["body", "tz"], "must be an IANA time zone name", body.tz)])

    q_start = to_us(body.from_) // QUARTER_US
    q_end = -(-to_us(body.to) // QUARTER_US)
    first_day = q_start // QUARTERS_PER_DAY
    end_day = (q_end - 1) // QUARTERS_PER_DAY + 1
    count = (end_day - first_day) * QUARTERS_PER_DAY
    rows_of = await rollups_repository.load_many(conn, ids, first_day, end_day)
    prod = _side(rows_of, body.production, info, first_day, count)
    cons = _side(rows_of, body.consumption, info, first_day, count)

    lo, hi = q_start - first_day * QUARTERS_PER_DAY, q_end - first_day * QUARTERS_PER_DAY
    p, c = prod.energy[lo:hi], cons.energy[lo:hi]
    s = list(map(min, p, c))
    got = list(map(operator.add, prod.received[lo:hi], cons.received[lo:hi]))
    n_series = len(ids)

    days = []
    for day_start, day_end in calendar_buckets(from_us(q_start * QUARTER_US), from_us(q_end * QUARTER_US), zone, "1d"):
        a = max(to_us(day_start) // QUARTER_US - q_start, 0)
        b = min(to_us(day_end) // QUARTER_US - q_start, hi - lo)
        days.append(
            {
                "day": day_start.date().isoformat(),
                "start": day_start.isoformat(),
                "end": day_end.isoformat(),
                **_figures(math.fsum(p[a:b]), math.fsum(c[a:b]), math.fsum(s[a:b]), (b - a) * n_series, sum(got[a:b])),
            }
        )
    intervals = []
    if body.intervals:
        # "YYYY-MM-DDT" of each UTC day + the quarter's time of day: no datetime per quarter
        times = [f"T{k // 4:02d}:{k % 4 * 15:02d}:00Z" for k in range(QUARTERS_PER_DAY)]
        day_text = ""
        for k, (pk, ck, sk, gk) in enumerate(zip(p, c, s, got, strict=True)):
            q = q_start + k
            slot = q % QUARTERS_PER_DAY
            if not day_text or not slot:
                day_text = rollups_repository.day_of(q // QUARTERS_PER_DAY).isoformat()
            intervals.append(
                {
                    "start": day_text + times[slot],
                    "production": pk,
                    "consumption": ck,
                    "self_consumed": sk,
                    "exported": pk - sk,
                    "from_grid": ck - sk,
                    "coverage": {"expected": n_series, "received": gk},
                }
            )
    return {
        "timezone": zone.key,
        "unit": "kWh",
        "total": _figures(math.fsum(p), math.fsum(c), math.fsum(s), (hi - lo) * n_series, sum(got)),
        "days": days,
        "intervals": intervals,
    }


__all__ = ["energy_balance"]
