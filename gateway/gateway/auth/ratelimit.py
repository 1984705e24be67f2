"""Failed-login limits: sliding windows in memory, per username and per client address.

Per gateway replica (N replicas allow up to N times the limit); the counters are cheap and need
no shared store. Only failures count; a success clears the username's failures.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

from gridcommons.errors import DomainError

from ..settings import GatewaySettings


class SlidingWindow:
    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _trim(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str, now: float | None = None) -> float | None:
        """Seconds until ``key`` may try again, or None if it is under the limit."""
        now = time.monotonic() if now is None else now
        hits = self._trim(key, now)
        if hits is None or len(hits) < self.limit:
            return None
        return hits[-self.limit] + self.window - now

    def record(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self.limit)
        hits.append(now)
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class LoginThrottle:
    def __init__(self, settings: GatewaySettings):
        window = settings.login_failure_window_seconds
        self.by_user = SlidingWindow(settings.login_failures_per_username, window)
        self.by_address = SlidingWindow(settings.login_failures_per_address, window)

    def check(self, username: str | None, address: str) -> None:
        """Raise 429 (with Retry-After) when the username or the address has too many recent failures."""
        waits = [self.by_address.retry_after(address)]
        if username:
            waits.append(self.by_user.retry_after(username.lower()))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise DomainError(
                "Too many failed login attempts; try again later",
                status_code=429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def failed(self, username: str | None, address: str) -> None:
        self.by_address.record(address)
        if username:
            self.by_user.record(username.lower())

    def succeeded(self, username: str | None) -> None:
        if username:
            self.by_user.reset(username.lower())
