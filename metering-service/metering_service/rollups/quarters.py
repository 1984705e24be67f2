"""Quarter-hour rollups of a series, computed from its raw readings (pure functions, no I/O).

Exact arithmetic, no float: every value is an integer count of **micro-units** of the series' unit
(``MICRO`` = 10⁶ per unit: µWh of a Wh register, mkWh of a kWh one...), read from the NUMERIC readings
rounded half-even to the micro-unit (``to_micro``; readings with at most 6 decimals are taken as they
are). Time is counted in integer microseconds since the Unix epoch, so bucket edges and covered time
are exact too. A quarter hour ``q`` is ``[q·15 min, (q+1)·15 min)`` in UTC; every time zone in use has
an offset that is a multiple of 15 minutes, so the quarters are also the local quarters of every
calendar, and every local hour, day and month is a run of whole quarters (``aggregate``).

* **instantaneous** (power, voltage...): each reading holds its value until the next reading, but
  never past the end of its own quarter hour; the quarter keeps the exact integral of its readings
  over the time so covered (nothing before the quarter's first reading is assumed) as
  ``value × covered + remainder`` (``value`` the floor of the average, ``0 ≤ remainder < covered``),
  with the minimum and maximum of its readings. Averages of any bucket are the exact integral over
  the exact covered time, rounded half-even to the micro-unit once (``round_half_even``): the only
  inexact step.
* **cumulative** (an energy register): the energy of a quarter hour is the sum of the differences
  between consecutive readings that both lie within it (its closed interval: a reading exactly at
  the quarter's end closes the quarter). Two readings further apart than their quarter leave that
  time uncovered: the energy is not spread over the quarters (never interpolated). A counter that
  goes down is a rollover when it wrapped from near a power of ten (or 2¹⁶, 2³²) to near zero (the
  difference then counts the wrap); otherwise it is a reset: that step is uncovered and counted in
  ``resets`` (never negative energy). Sums of integers: exact.

Values, minima and maxima are ``array('q')`` (int64), covered time and remainders ``array('i')`` (int32): values must stay within ±(2⁶³ − 2) micro-units (about ±9.2·10¹²
units); ``RollupRange`` is raised otherwise (the ingestion refuses the batch).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

QUARTER_US = 900_000_000
QUARTERS_PER_DAY = 96
DAY_US = QUARTER_US * QUARTERS_PER_DAY
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

FRACTION_DIGITS = 6
MICRO = 10**FRACTION_DIGITS  # micro-units per unit of the series
# No reading in the quarter (instantaneous minimum / maximum): outside the range of any value.
NO_MIN = 2**63 - 1
NO_MAX = -(2**63)
VALUE_LIMIT = 2**63 - 2  # largest absolute value in micro-units
BINARY_MODULI = (2**16 * MICRO, 2**32 * MICRO)
assert array("i").itemsize == 4 and array("q").itemsize == 8  # covered, remainder: int32 (< 900,000,000)


class RollupRange(ValueError):
    """A reading or a rollup figure beyond the int64 micro-unit range of the rollups."""


def to_us(instant: datetime) -> int:
    return (instant - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def to_micro(value: Decimal) -> int:
    """A reading's value as micro-units, rounded half-even (the same rule as the SQL of
    ``repository.readings_between``)."""
    return int(value.scaleb(FRACTION_DIGITS).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) rounded to an integer, halves to even."""
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and q & 1):
        q += 1
    return q


def micro_text(n: int) -> str:
    """Micro-units as the plain decimal text of units, without trailing zeros (``format_decimal``'s shape)."""
    return fixed_text(n, FRACTION_DIGITS)


def fixed_text(n: int, digits: int) -> str:
    """``n · 10^-digits`` as plain decimal text without trailing zeros; never "-0"."""
    s = str(n)
    negative = s[0] == "-"
    if negative:
        s = s[1:]
    if len(s) <= digits:
        s = "0" * (digits + 1 - len(s)) + s
    whole, fraction = s[:-digits], s[-digits:].rstrip("0")
    text = whole + "." + fraction if fraction else whole
    return "-" + text if negative and text != "0" else text


def rollover_delta(previous: int, current: int) -> int | None:
    """The energy of a step whose counter went down from ``previous`` to ``current`` (micro-units): the
    wrap of a register that rolled over (from within 10 % of its modulus to below 10 % of it), else None
    (a reset)."""
    if previous <= 0:
        return None
    candidates = [10 ** len(str(previous)), *BINARY_MODULI]  # the smallest power of ten above previous
    for modulus in sorted(m for m in candidates if m > previous):
        if 10 * previous >= 9 * modulus and 0 <= current and 10 * current < modulus:
            return modulus - previous + current
    return None


@dataclass
class Quarters:
    """Rollups of the quarters ``[first, first + len)`` (quarter indices since the epoch), per quarter:
    ``value`` (micro-units; instantaneous: the floor of the time-weighted average; cumulative: energy;
    0 where nothing is covered), ``covered`` (microseconds of the quarter covered by readings,
    0..900,000,000), ``remainder`` (instantaneous: integral − value × covered, in micro-unit·µs, 0 ≤ r <
    covered), ``minimum``/``maximum`` (micro-units; ``NO_MIN``/``NO_MAX`` for cumulative series and
    uncovered quarters) and ``resets`` (counter resets that left a gap)."""

    first: int
    value: array = field(default_factory=lambda: array("q"))
    covered: array = field(default_factory=lambda: array("i"))
    remainder: array = field(default_factory=lambda: array("i"))
    minimum: array = field(default_factory=lambda: array("q"))
    maximum: array = field(default_factory=lambda: array("q"))
    resets: array = field(default_factory=lambda: array("B"))

    @classmethod
    def empty(cls, first: int, count: int) -> Quarters:
        return cls(
            first,
            array("q", bytes(8 * count)),
            array("i", bytes(4 * count)),
            array("i", bytes(4 * count)),
            array("q", [NO_MIN]) * count,
            array("q", [NO_MAX]) * count,
            array("B", bytes(count)),
        )

    def __len__(self) -> int:
        return len(self.value)


def compute(cumulative: bool, times_us: Sequence[int], values: Sequence[int], first: int, count: int) -> Quarters:
    """The quarters ``[first, first + count)`` from readings (micro-units) sorted by time (every reading
    that may touch them: those in ``[first quarter's start, last quarter's end]``). Raises ``RollupRange``
    when a figure leaves the int64 range."""
    out = Quarters.empty(first, count)
    val, cov, rem, mn, mx, rs = out.value, out.covered, out.remainder, out.minimum, out.maximum, out.resets
    n = len(times_us)
    if cumulative:
        energy: dict[int, int] = {}
        for i in range(n - 1):
            t0 = times_us[i]
            t1 = times_us[i + 1]
            q = t0 // QUARTER_US
            k = q - first
            if not 0 <= k < count or t1 > (q + 1) * QUARTER_US:
                continue  # outside, or a step across a quarter's end: uncovered
            delta = values[i + 1] - values[i]
            if delta < 0:
                wrapped = rollover_delta(values[i], values[i + 1])
                if wrapped is None:
                    rs[k] = min(rs[k] + 1, 255)
                    continue
                delta = wrapped
            energy[k] = energy.get(k, 0) + delta
            cov[k] += t1 - t0
        for k, e in energy.items():
            if e > VALUE_LIMIT:
                raise RollupRange(f"the energy of the quarter hour at {from_us((first + k) * QUARTER_US).isoformat()}")
            val[k] = e
        return out
    integral: dict[int, int] = {}
    for i in range(n):
        t = times_us[i]
        q = t // QUARTER_US
        k = q - first
        if not 0 <= k < count:
            continue
        end = (q + 1) * QUARTER_US
        if i + 1 < n and times_us[i + 1] < end:
            end = times_us[i + 1]
        v = values[i]
        integral[k] = integral.get(k, 0) + v * (end - t)
        cov[k] += end - t
        if v < mn[k]:
            mn[k] = v
        if v > mx[k]:
            mx[k] = v
    for k, total in integral.items():
        if cov[k]:
            val[k], rem[k] = divmod(total, cov[k])  # the floor average lies between the readings: in range
    return out


class Bucket(NamedTuple):
    """One calendar bucket aggregated from its quarters (values in micro-units)."""

    value: int | None
    minimum: int | None
    maximum: int | None
    expected: int
    received: int
    covered_us: int
    resets: int


def aggregate(cumulative: bool, quarters: Quarters, lo: int, hi: int) -> Bucket:
    """The bucket made of quarters ``[lo, hi)`` (indices since the epoch; outside ``quarters``: no data).
    Instantaneous: the exact integral over the exact covered time, rounded half-even to the micro-unit;
    min and max; cumulative: the sum of the quarters' energy. ``received``: quarters with any covered time."""
    a = max(lo - quarters.first, 0)
    b = max(min(hi - quarters.first, len(quarters)), a)
    cov = quarters.covered[a:b]
    covered = sum(cov)
    received = len(cov) - cov.count(0)
    resets = sum(quarters.resets[a:b])
    if not received:
        return Bucket(None, None, None, hi - lo, 0, 0, resets)
    vals = quarters.value[a:b]
    if cumulative:
        return Bucket(sum(vals), None, None, hi - lo, received, covered, resets)
    integral = sum(map(int.__mul__, vals, cov)) + sum(quarters.remainder[a:b])
    avg = round_half_even(integral, covered)
    return Bucket(avg, min(quarters.minimum[a:b]), max(quarters.maximum[a:b]), hi - lo, received, covered, resets)
