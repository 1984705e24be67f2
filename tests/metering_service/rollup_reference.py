"""A straightforward reference of the rollup rules, bucket by bucket over the raw readings (no quarter
arrays, no storage, no integers of micro-units: ``Decimal`` and ``Fraction``), and calendar buckets found
by grouping quarter hours by their local date and hour. The answers must match it exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from gridcommons.quantity import format_decimal

Q = timedelta(minutes=15)
MICRO = Decimal("0.000001")
US = timedelta(microseconds=1)


def floor_quarter(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def local_buckets(start: datetime, end: datetime, tz: ZoneInfo, step: str) -> list[tuple[datetime, datetime]]:
    """Buckets overlapping [start, end): runs of UTC quarter hours with the same local key."""

    def key(u: datetime) -> Any:
        local = u.astimezone(tz)
        return {
            "15m": u,
            "1h": (local.date(), local.hour, local.utcoffset()),
            "1d": local.date(),
            "1mo": (local.year, local.month),
        }[step]

    # widen to whole buckets: walk back and forward from the range's quarters while the key is the same
    lo = floor_quarter(start)
    while key(lo - Q) == key(lo):
        lo -= Q
    hi = floor_quarter(end - timedelta(microseconds=1)) + Q
    while key(hi) == key(hi - Q):
        hi += Q
    out: list[tuple[datetime, datetime]] = []
    u = lo
    while u < hi:
        first = u
        while u + Q < hi and key(u + Q) == key(first):
            u += Q
        u += Q
        out.append((first, u))
    return out


def micro(v: Decimal) -> Decimal:
    """A reading as the rollups see it: rounded half-even to 6 decimals."""
    return Decimal(v).quantize(MICRO, rounding=ROUND_HALF_EVEN)


def rounded(x: Fraction) -> Decimal:
    """An exact rational rounded half-even to 6 decimals (Python's round of a Fraction: halves to even)."""
    return Decimal(round(x * 10**6)).scaleb(-6)


MODULI = sorted([*(Decimal(10) ** k for k in range(-6, 25)), Decimal(2**16), Decimal(2**32)])


def rollover(v0: Decimal, v1: Decimal) -> Decimal | None:
    for m in MODULI:
        if m > v0 and v0 >= Decimal("0.9") * m and 0 <= v1 < Decimal("0.1") * m:
            return m - v0 + v1
    return None


def reference(kind: str, readings: list[tuple[datetime, Decimal]], a: datetime, b: datetime) -> dict[str, Any]:
    """The bucket [a, b) from ``readings`` (sorted by time): value, min and max as Decimal, ``integral``
    (instantaneous: value × µs as a Fraction) and the coverage."""
    quarters = set()
    covered_us = 0
    resets = 0
    integral = Fraction(0)
    value: Decimal | None
    if kind == "instantaneous":
        values = []
        for i, (t, v) in enumerate(readings):
            if not a <= t < b:
                continue
            end = floor_quarter(t) + Q
            if i + 1 < len(readings):
                end = min(end, readings[i + 1][0])
            us = (end - t) // US
            integral += Fraction(micro(v)) * us
            covered_us += us
            values.append(micro(v))
            quarters.add(floor_quarter(t))
        value = rounded(integral / covered_us) if covered_us else None
        low, high = (min(values), max(values)) if values else (None, None)
    else:
        value = Decimal(0)
        low = high = None
        for (t0, v0), (t1, v1) in zip(readings, readings[1:], strict=False):
            if not a <= t0 < b or t1 > floor_quarter(t0) + Q:
                continue
            d = micro(v1) - micro(v0)
            if d < 0:
                wrapped = rollover(micro(v0), micro(v1))
                if wrapped is None:
                    resets += 1
                    continue
                d = wrapped
            value += d
            covered_us += (t1 - t0) // US
            quarters.add(floor_quarter(t0))
        if not quarters:
            value = None
    return {
        "value": value,
        "integral": integral,
        "min": low,
        "max": high,
        "received": len(quarters),
        "expected": int((b - a) / Q),
        "fraction": min(round(covered_us / ((b - a) // US), 6), 1.0),
        "resets": resets,
    }


def text(x: Decimal | None) -> str | None:
    return None if x is None else format_decimal(x)


def check_buckets(
    kind: str,
    readings: list[tuple[datetime, Decimal]],
    got: list[dict[str, Any]],
    tz: ZoneInfo,
    step: str,
    start: datetime,
    end: datetime,
) -> None:
    """The answer's buckets against the reference, bucket by bucket: the decimal texts exactly."""
    expected = local_buckets(start, end, tz, step)
    assert len(got) == len(expected), (step, len(got), len(expected))
    for g, (a, b) in zip(got, expected, strict=True):
        assert datetime.fromisoformat(g["start"]) == a and datetime.fromisoformat(g["end"]) == b, (g, a, b)
        assert datetime.fromisoformat(g["start"]).utcoffset() == a.astimezone(tz).utcoffset()
        ref = reference(kind, readings, a, b)
        assert g["value"] == text(ref["value"]), (step, a, g, ref)
        assert g["min"] == text(ref["min"]) and g["max"] == text(ref["max"]), (g, ref)
        assert g["coverage"]["expected"] == ref["expected"]
        assert g["coverage"]["received"] == ref["received"], (step, a, g, ref)
        assert g["coverage"]["fraction"] == ref["fraction"], (g, ref)
        assert g["counter_resets"] == ref["resets"]
