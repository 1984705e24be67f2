"""The energy balance of production and consumption series, per quarter hour, from their rollups.

Per quarter hour: P (sum of the production series' energy), C (the consumption series'), self-consumed
S = min(P, C), exported P − S, from the grid C − S; summed per local day and over the period. The
series' quarter-hour rollups give the energy: a register's counted energy, or a power series' exact
integral (average × covered time, kept exactly by the rollups). A series without data in a quarter adds
nothing there and shows in the coverage.

Exact: every series' energy is converted to one integer base unit (``Scale``) in which all the series'
micro-units are whole numbers, so sums and min(P, C) are integer arithmetic; each figure is rounded
once, on output, half-even to 10⁻⁹ kWh (which changes nothing when every series is an energy register:
its micro-units are whole multiples of 10⁻⁹ kWh). The sums run over plain int lists with ``map`` (C
loops): a year × 51 series is 1.8 M quarter values.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.timeutil import calendar_buckets

from ..readings.repository import driver_connection
from ..rollups import repository as rollups_repository
from ..rollups.quarters import QUARTER_US, QUARTERS_PER_DAY, fixed_text, from_us, round_half_even, to_us
from ..rollups.service import check_timezone
from .schemas import EnergyBalanceRequest

# Decimal exponent of each unit: energy in Wh (cumulative series), power in W (instantaneous series)
ENERGY_EXP = {"Wh": 0, "kWh": 3, "MWh": 6}
POWER_EXP = {"W": 0, "kW": 3, "MW": 6}
OUTPUT_DIGITS = 9  # figures in kWh, rounded half-even to 10⁻⁹ kWh (1 µWh)
SERIES = "SELECT id, kind, unit, timezone FROM metering.series WHERE company_id = $1 AND id = ANY($2::bigint[])"


@dataclass(frozen=True)
class Scale:
    """The integer units of one balance.

    Energy registers are summed in the micro-unit of the finest register unit b_e (10^(b_e−6) Wh; a series
    in 10^x Wh counts 10^(x−b_e) of them), power series in micro-unit × microsecond of the finest power
    unit b_p (10^(b_p−12) J; a series in 10^y W counts 10^(y−b_p)). Registers only: a figure of n is
    n · 10^(b_e−9) kWh exactly. With power series the two sums meet in the power base: a register unit is
    36 · 10^(b_e−b_p+8) of it (10^(b_e−6) Wh = 36 · 10^(b_e−4) J), and a figure of n is
    n / (36 · 10^(8−b_p)) · 10⁻⁹ kWh, rounded half-even. Registers are converted per quarter sum, not per
    series: one multiplication per quarter."""

    factors: dict[int, int]  # per series, into its group's unit
    register_factor: int  # a register unit in the balance's base
    digits: int  # decimals of a base in kWh (registers only) or 9
    divisor: int | None  # with power series: bases per 10⁻⁹ kWh

    @classmethod
    def of(cls, info: dict[int, Any], ids: Sequence[int]) -> Scale:
        energy = {i: ENERGY_EXP[info[i]["unit"]] for i in ids if info[i]["kind"] == "cumulative"}
        power = {i: POWER_EXP[info[i]["unit"]] for i in ids if info[i]["kind"] == "instantaneous"}
        b_e = min(energy.values(), default=0)
        factors = {i: 10 ** (x - b_e) for i, x in energy.items()}
        if not power:
            return cls(factors, 1, OUTPUT_DIGITS - b_e, None)
        b_p = min(power.values())
        factors.update({i: 10 ** (y - b_p) for i, y in power.items()})
        return cls(factors, 36 * 10 ** (b_e - b_p + 8), OUTPUT_DIGITS, 36 * 10 ** (8 - b_p))

    def formatter(self) -> Callable[[int], str]:
        """Bases → kWh as decimal text (memoized: quarter energies repeat)."""
        cache: dict[int, str] = {}
        digits, divisor = self.digits, self.divisor

        def text(n: int) -> str:
            t = cache.get(n)
            if t is None:
                t = cache[n] = fixed_text(n if divisor is None else round_half_even(n, divisor), digits)
            return t

        return text


@dataclass
class Side:
    """The summed energy (bases of the ``Scale``) and the count of series with data, per quarter of the run."""

    energy: list[int]
    received: list[int]


def _summed(quarters: list[Any]) -> Any:
    return map(sum, zip(*quarters, strict=True)) if len(quarters) > 1 else quarters[0]


def _side(
    rows_of: dict[int, list[Any]],
    series: Sequence[int],
    info: dict[int, Any],
    scale: Scale,
    first_day: int,
    count: int,
) -> Side:
    """Sum the series day by day: the day's arrays of every series zipped, each quarter summed in C
    (registers and power series apart, then the registers' sum converted once)."""
    days: dict[int, list[tuple[Any, Any, Any, int, bool]]] = {}
    for sid in series:
        power = info[sid]["kind"] == "instantaneous"
        factor = scale.factors[sid]
        for row in rows_of.get(sid, ()):
            days.setdefault(rollups_repository.day_index(row[1]), []).append((row[2], row[3], row[4], factor, power))
    energy = [0] * count
    received = [0] * count
    to_base = scale.register_factor
    for day, rows in days.items():
        registers: list[Any] = []
        powers: list[Any] = []
        covers = []
        for value, covered, remainder, factor, power in rows:
            quarter: Any = array("q", value)
            cover = array("i", covered)
            if power:  # the exact integral: floor average × covered time + remainder
                quarter = map(operator.mul, quarter, cover)
                if remainder is not None:
                    quarter = map(operator.add, quarter, array("i", remainder))
            if factor != 1:
                quarter = map(factor.__mul__, quarter)
            (powers if power else registers).append(quarter)
            covers.append(cover)
        total: Any = None
        if registers:
            total = _summed(registers)
            if to_base != 1:
                total = map(to_base.__mul__, total)
        if powers:
            total = _summed(powers) if total is None else map(operator.add, total, _summed(powers))
        k = (day - first_day) * QUARTERS_PER_DAY
        window = slice(k, k + QUARTERS_PER_DAY)
        energy[window] = total
        n = len(covers)
        received[window] = [n - t.count(0) for t in zip(*covers, strict=True)]
    return Side(energy, received)


def _figures(text: Callable[[int], str], p: int, c: int, s: int, expected: int, received: int) -> dict[str, Any]:
    return {
        "production": text(p),
        "consumption": text(c),
        "self_consumed": text(s),
        "exported": text(p - s),
        "from_grid": text(c - s),
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
            if (kind == "cumulative" and unit not in ENERGY_EXP) or (kind == "instantaneous" and unit not in POWER_EXP):
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
    scale = Scale.of(info, ids)
    text = scale.formatter()
    prod = _side(rows_of, body.production, info, scale, first_day, count)
    cons = _side(rows_of, body.consumption, info, scale, first_day, count)

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
                **_figures(text, sum(p[a:b]), sum(c[a:b]), sum(s[a:b]), (b - a) * n_series, sum(got[a:b])),
            }
        )
    intervals = []
    if body.intervals:
        # "YYYY-MM-DDT" of each UTC day + the quarter's time of day: no datetime per quarter
        times = [f"T{k // 4:02d}:{k % 4 * 15:02d}:00Z" for k in range(QUARTERS_PER_DAY)]
        day_text = ""
        zero = text(0)
        for k, (pk, ck, sk, gk) in enumerate(zip(p, c, s, got, strict=True)):
            q = q_start + k
            slot = q % QUARTERS_PER_DAY
            if not day_text or not slot:
                day_text = rollups_repository.day_of(q // QUARTERS_PER_DAY).isoformat()
            # S is P or C: one of exported and from_grid is zero
            p_text, c_text = text(pk), text(ck)
            intervals.append(
                {
                    "start": day_text + times[slot],
                    "production": p_text,
                    "consumption": c_text,
                    "self_consumed": p_text if sk == pk else c_text,
                    "exported": zero if sk == pk else text(pk - sk),
                    "from_grid": zero if sk == ck else text(ck - sk),
                    "coverage": {"expected": n_series, "received": gk},
                }
            )
    return {
        "timezone": zone.key,
        "unit": "kWh",
        "total": _figures(text, sum(p), sum(c), sum(s), (hi - lo) * n_series, sum(got)),
        "days": days,
        "intervals": intervals,
    }


__all__ = ["energy_balance"]
