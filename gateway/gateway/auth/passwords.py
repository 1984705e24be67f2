"""Password hashing (Argon2id via pwdlib) and machine-client secrets.

Argon2 is deliberately slow, so hashing and verification run in a worker thread (argon2-cffi
releases the GIL) and never block the event loop. At most ``password_hash_concurrency`` of them
run at once per process (default: half the CPUs, at least one); the others wait for a slot, so a
burst of bogus logins queues behind itself instead of taking every core from the other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
T = TypeVar("T")


class _Slots:
    def __init__(self) -> None:
        self.limit = self.default()
        self.by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self.in_flight = 0
        self.peak = 0  # the most Argon2 operations seen running at once (operations, tests)

    @staticmethod
    def default() -> int:
        return max(1, (os.cpu_count() or 2) // 2)

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self.by_loop.get(loop)
        if sem is None:
            sem = self.by_loop[loop] = asyncio.Semaphore(self.limit)
        return sem


slots = _Slots()


def configure(concurrency: int) -> None:
    """How many Argon2 operations may run at once (0: the default)."""
    slots.limit = concurrency if concurrency > 0 else _Slots.default()
    slots.by_loop.clear()


async def _argon2(fn: Callable[..., T], *args: Any) -> T:
    async with slots.semaphore():
        slots.in_flight += 1
        slots.peak = max(slots.peak, slots.in_flight)
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            slots.in_flight -= 1


async def hash_password(password: str) -> str:
    return await _argon2(_hasher.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new hash if the parameters changed). With no hash (unknown user) a dummy hash is
    verified anyway, so that the answer takes as long as for a known user."""
    if password_hash is None:
        await _argon2(_hasher.verify, password, await _argon2(_dummy_hash))
        return False, None
    try:
        return await _argon2(_hasher.verify_and_update, password, password_hash)
    except Exception:  # malformed stored hash
        return False, None


# Machine-client secrets are 256-bit random strings, not human passwords: a SHA-256 digest is
# enough to store them and keeps the client_credentials grant cheap.
def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_client_secret(secret: str, stored: str | None) -> bool:
    expected = stored or "sha256$" + "0" * 64
    return hmac.compare_digest(hash_client_secret(secret), expected) and stored is not None
