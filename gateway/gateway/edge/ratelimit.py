"""Per-machine-client request budget: a token bucket in memory (per gateway process)."""

from __future__ import annotations

import math
import time


class TokenBuckets:
    """``budget`` requests per minute per key, burst up to ``budget``."""

    def __init__(self, default_per_minute: int, *, max_keys: int = 100_000):
        self.default = default_per_minute
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill (monotonic), per_minute]
        self._max_keys = max_keys

    def take(self, key: str, per_minute: int | None = None) -> float:
        """Take one token. Returns 0.0 when allowed, else the seconds until a token is available."""
        rate = float(per_minute or self.default)
        if rate <= 0:
            return 60.0
        now = time.monotonic()
        b = self._buckets.get(key)
        if b is None or b[2] != rate:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            b = self._buckets[key] = [rate, now, rate]
        else:
            b[0] = min(rate, b[0] + (now - b[1]) * rate / 60.0)
            b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return 0.0
        return (1.0 - b[0]) * 60.0 / rate

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
