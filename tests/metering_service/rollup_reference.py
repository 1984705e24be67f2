"""A straightforward reference of the rollup rules, bucket by bucket over the raw readings (no quarter
arrays, no storage), and calendar buckets found by grouping quarter hours by their local date and hour."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Q = timedelta(minutes=15)


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


def rollover(v0: float, v1: float) -> float | None:
    for m in sorted([*(10.0**k for k in range(1, 25)), 2.0**16, 2.0**32]):
        if m > v0 and v0 >= 0.9 * m and 0 <= v1 < 0.1 * m:
            return m - v0 + v1
    return None


def reference(kind: str, readings: list[tuple[datetime, float]], a: datetime, b: datetime) -> dict[str, Any]:
    """The bucket [a, b) from ``readings`` (sorted by time)."""
    quarters = set()
    covered = 0.0
    resets = 0
    if kind == "instantaneous":
        integral = 0.0
        values = []
        for i, (t, v) in enumerate(readings):
            if not a <= t < b:
                continue
            end = floor_quarter(t) + Q
            if i + 1 < len(readings):
                end = min(end, readings[i + 1][0])
            seconds = (end - t).total_seconds()
            integral += v * seconds
            covered += seconds
            values.append(v)
            quarters.add(floor_quarter(t))
        value = integral / covered if covered else None
        low, high = (min(values), max(values)) if values else (None, None)
    else:
        value = 0.0
        low = high = None
        for (t0, v0), (t1, v1) in zip(readings, readings[1:], strict=False):
            if not a <= t0 < b or t1 > floor_quarter(t0) + Q:
                continue
            d = v1 - v0
            if d < 0:
                wrapped = rollover(v0, v1)
                if wrapped is None:
                    resets += 1
                    continue
                d = wrapped
            value += d
            covered += (t1 - t0).total_seconds()
            quarters.add(floor_quarter(t0))
        if not quarters:
            value = None
    return {
        "value": value,
        "min": low,
        "max": high,
        "received": len(quarters),
        "expected": int((b - a) / Q),
        "fraction": covered / (b - a).total_seconds(),
        "resets": resets,
    }


def close(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)


def check_buckets(
    kind: str,
    readings: list[tuple[datetime, float]],
    got: list[dict[str, Any]],
    tz: ZoneInfo,
    step: str,
    start: datetime,
    end: datetime,
) -> None:
    """The answer's buckets against the reference, bucket by bucket."""
    expected = local_buckets(start, end, tz, step)
    assert len(got) == len(expected), (step, len(got), len(expected))
    for g, (a, b) in zip(got, expected, strict=True):
        assert datetime.fromisoformat(g["start"]) == a and datetime.fromisoformat(g["end"]) == b, (g, a, b)
        assert datetime.fromisoformat(g["start"]).utcoffset() == a.astimezone(tz).utcoffset()
        ref = reference(kind, readings, a, b)
        assert close(g["value"], ref["value"]), (step, a, g, ref)
        assert close(g["min"], ref["min"]) and close(g["max"], ref["max"]), (g, ref)
        assert g["coverage"]["expected"] == ref["expected"]
        assert g["coverage"]["received"] == ref["received"], (step, a, g, ref)
        assert math.isclose(g["coverage"]["fraction"], min(ref["fraction"], 1.0), abs_tol=2e-6), (g, ref)
        assert g["counter_resets"] == ref["resets"]
