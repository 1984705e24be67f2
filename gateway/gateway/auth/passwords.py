"""Password hashing (Argon2id via pwdlib) and machine-client secrets.

Argon2 is deliberately slow, so hashing and verification run in a worker thread (argon2-cffi
releases the GIL) and never block the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new hash if the parameters changed). With no hash (unknown user) a dummy hash is
    verified anyway, so that the answer takes as long as for a known user."""
    if password_hash is None:
        await asyncio.to_thread(_hasher.verify, password, await asyncio.to_thread(_dummy_hash))
        return False, None
    try:
        return await asyncio.to_thread(_hasher.verify_and_update, password, password_hash)
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
