"""Quarter-hour rollups of one series, computed from its raw readings (pure functions, no I/O).

Everything is counted in integer microseconds since the Unix epoch, so that bucket edges are exact.
A quarter hour ``q`` is ``[q·15 min, (q+1)·15 min)`` in UTC; every time zone in use has an offset
that is a multiple of 15 minutes, so the quarters are also the local quarters of every calendar, and
every local hour, day and month is a run of whole quarters (``aggregate``).

* **instantaneous** (power, voltage...): each reading holds its value until the next reading, but
  never past the end of its own quarter hour; the quarter's value is the time-weighted average over
  the time so covered (nothing before the quarter's first reading is assumed), with the minimum and
  maximum of its readings.
* **cumulative** (an energy register): the energy of a quarter hour is the sum of the differences
  between consecutive readings that both lie within it (its closed interval: a reading exactly at
  the quarter's end closes the quarter). Two readings further apart than their quarter leave that
  time uncovered: the energy is not spread over the quarters (never interpolated). A counter that
  goes down is a rollover when it wrapped from near a power of ten (or 2¹⁶, 2³²) to near zero (the
  difference then counts the wrap); otherwise it is a reset: that step is uncovered and counted in
  ``resets`` (never negative energy).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

QUARTER_US = 900_000_000
QUARTERS_PER_DAY = 96
DAY_US = QUARTER_US * QUARTERS_PER_DAY
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
NAN = math.nan
BINARY_MODULI = (2.0**16, 2.0**32)


def to_us(instant: datetime) -> int:
    return (instant - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def rollover_delta(previous: float, current: float) -> float | None:
    """The energy of a step whose counter went down from ``previous`` to ``current``: the wrap of a
    register that rolled over (from within 10 % of its modulus to below 10 % of it), else None (a reset)."""
    if previous <= 0:
        return None
    candidates = [10.0 ** (math.floor(math.log10(previous)) + 1), *BINARY_MODULI]
    for modulus in sorted(m for m in candidates if m > previous):
        if previous >= 0.9 * modulus and 0 <= current < 0.1 * modulus:
            return modulus - previous + current
    return None


@dataclass
class Quarters:
    """Rollups of the quarters ``[first, first + len)`` (quarter indices since the epoch): per quarter,
    ``value`` (instantaneous: time-weighted average; cumulative: energy; 0.0 where nothing is covered),
    ``covered`` (seconds of the quarter covered by readings, 0..900), ``minimum``/``maximum`` (NaN for
    cumulative series and uncovered quarters) and ``resets`` (counter resets that left a gap)."""

    first: int
    value: array = field(default_factory=lambda: array("d"))
    covered: array = field(default_factory=lambda: array("d"))
    minimum: array = field(default_factory=lambda: array("d"))
    maximum: array = field(default_factory=lambda: array("d"))
    resets: array = field(default_factory=lambda: array("B"))

    @classmethod
    def empty(cls, first: int, count: int) -> Quarters:
        return cls(
            first,
            array("d", bytes(8 * count)),
            array("d", bytes(8 * count)),
            array("d", [NAN]) * count,
            array("d", [NAN]) * count,
            array("B", bytes(count)),
        )

    def __len__(self) -> int:
        return len(self.value)


def compute(cumulative: bool, times_us: Sequence[int], values: Sequence[float], first: int, count: int) -> Quarters:
    """The quarters ``[first, first + count)`` from readings sorted by time (every reading that may
    touch them: those in ``[first quarter's start, last quarter's end]``)."""
    out = Quarters.empty(first, count)
    val, cov, mn, mx, rs = out.value, out.covered, out.minimum, out.maximum, out.resets
    n = len(times_us)
    if cumulative:
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
            val[k] += delta
            cov[k] += (t1 - t0) / 1e6
        return out
    integral = [0.0] * count
    for i in range(n):
        t = times_us[i]
        q = t // QUARTER_US
        k = q - first
        if not 0 <= k < count:
            continue
        end = (q + 1) * QUARTER_US
        if i + 1 < n and times_us[i + 1] < end:
            end = times_us[i + 1]
        seconds = (end - t) / 1e6
        v = values[i]
        integral[k] += v * seconds
        cov[k] += seconds
        if not v >= mn[k]:  # NaN (first reading) or a new minimum
            mn[k] = v
        if not v <= mx[k]:
            mx[k] = v
    for k in range(count):
        if cov[k] > 0:
            val[k] = integral[k] / cov[k]
    return out


class Bucket(NamedTuple):
    """One calendar bucket aggregated from its quarters."""

    value: float | None
    minimum: float | None
    maximum: float | None
    expected: int
    received: int
    covered_seconds: float
    resets: int


def aggregate(cumulative: bool, quarters: Quarters, lo: int, hi: int) -> Bucket:
    """The bucket made of quarters ``[lo, hi)`` (indices since the epoch; outside ``quarters``: no data).
    Instantaneous: the time-weighted average over the covered time, min and max; cumulative: the sum
    of the quarters' energy. ``received``: quarters with any covered time."""
    a = max(lo - quarters.first, 0)
    b = max(min(hi - quarters.first, len(quarters)), a)
    cov = quarters.covered[a:b]
    covered = sum(cov)
    received = len(cov) - cov.count(0.0)
    resets = sum(quarters.resets[a:b])
    if not received:
        return Bucket(None, None, None, hi - lo, 0, 0.0, resets)
    vals = quarters.value[a:b]
    if cumulative:
        return Bucket(math.fsum(vals), None, None, hi - lo, received, covered, resets)
    avg = math.fsum(map(float.__mul__, vals, cov)) / covered
    mins = [m for m in quarters.minimum[a:b] if m == m]
    maxs = [m for m in quarters.maximum[a:b] if m == m]
    return Bucket(avg, min(mins), max(maxs), hi - lo, received, covered, resets)
