"""Login limits: sliding windows in memory, per (account, address), per address and per account;
and the per-address limit of POST /auth/register.

Per gateway replica (N replicas allow up to N times the limit); the counters are cheap and need
no shared store. Only failures count. An account is a username (lower-cased) or
``client:<client_id>``.

Lock-out: a per-account limit alone lets anyone who knows a username lock its owner out. So the
account-wide window refuses only addresses that are not *known-good* for the account (addresses
that logged in to it successfully within ``login_known_address_seconds``); the per (account,
address) and per address windows refuse everyone. The owner at home keeps logging in while a
guesser elsewhere gets 429 after ``login_failures_per_account`` failures spread over any number
of addresses.
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

    def count(self, key: str, now: float | None = None) -> int:
        """Hits of ``key`` in the window (at most ``limit`` are kept)."""
        hits = self._trim(key, time.monotonic() if now is None else now)
        return 0 if hits is None else len(hits)

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


def _too_many(wait: float, what: str = "Too many failed login attempts; try again later") -> DomainError:
    return DomainError(what, status_code=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})


class KnownAddresses:
    """account -> {address: last successful login (monotonic)}, bounded (LRU by account)."""

    def __init__(self, ttl: float, *, max_accounts: int = 100_000, per_account: int = 32):
        self.ttl = ttl
        self.max_accounts = max_accounts
        self.per_account = per_account
        self._data: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()

    def add(self, account: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        seen = self._data.get(account)
        if seen is None:
            seen = self._data[account] = OrderedDict()
        seen[address] = now
        seen.move_to_end(address)
        while len(seen) > self.per_account:
            seen.popitem(last=False)
        self._data.move_to_end(account)
        while len(self._data) > self.max_accounts:
            self._data.popitem(last=False)

    def __contains__(self, key: tuple[str, str]) -> bool:
        account, address = key
        seen = self._data.get(account)
        at = seen.get(address) if seen is not None else None
        return at is not None and at > time.monotonic() - self.ttl


class LoginThrottle:
    def __init__(self, settings: GatewaySettings):
        window = settings.login_failure_window_seconds
        self.by_pair = SlidingWindow(settings.login_failures_per_account_address, window)
        self.by_address = SlidingWindow(settings.login_failures_per_address, window)
        self.by_account = SlidingWindow(settings.login_failures_per_account, window)
        self.known = KnownAddresses(settings.login_known_address_seconds)

    @staticmethod
    def _account(account: str | None) -> str | None:
        return account.lower() if account else None

    def check(self, account: str | None, address: str) -> None:
        """Raise 429 (with Retry-After) when this attempt is over a limit (see the module doc)."""
        key = self._account(account)
        waits = [self.by_address.retry_after(address)]
        if key:
            waits.append(self.by_pair.retry_after(f"{key}\x00{address}"))
            if (key, address) not in self.known:
                waits.append(self.by_account.retry_after(key))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise _too_many(wait)

    def failed(self, account: str | None, address: str) -> None:
        self.by_address.record(address)
        key = self._account(account)
        if key:
            self.by_pair.record(f"{key}\x00{address}")
            self.by_account.record(key)

    def succeeded(self, account: str | None, address: str) -> None:
        key = self._account(account)
        if key:
            self.by_pair.reset(f"{key}\x00{address}")
            self.known.add(key, address)


class RegistrationThrottle:
    """POST /auth/register: every call counts (each costs an Argon2 hash), per address."""

    def __init__(self, settings: GatewaySettings):
        self.by_address = SlidingWindow(settings.registrations_per_address, settings.registration_window_seconds)

    def take(self, address: str) -> None:
        wait = self.by_address.retry_after(address)
        if wait is not None:
            raise _too_many(wait, "Too many registrations from this address; try again later")
        self.by_address.record(address)
