"""Verification of the gateway's bearer tokens outside the gateway (the Kafka ingestion doors).

The gateway signs bearer tokens with Ed25519 (alg ``EdDSA``, ``kid`` = RFC 7638 thumbprint of
the key) and publishes its public keys at ``/.well-known/jwks.json``. A service gets the keys from
one of (``InfraSettings``):

- ``TOKEN_PUBLIC_KEY`` / ``TOKEN_PUBLIC_KEY_FILE``: the public key as PEM (``make run`` writes the
  file next to the gateway's private key; the test plugin exports it inline);
- ``TOKEN_JWKS_URL``: the gateway's JWKS, fetched on first use and again when a token names an
  unknown ``kid`` (key rotation), at most once per ``TOKEN_JWKS_MIN_REFRESH_SECONDS``.

``verify(token, at=...)`` checks signature, algorithm, kid, issuer, audience and the time window
at the instant ``at`` (see ``gridcommons.ingest`` for which instant a Kafka message is judged at).
Revocation is the caller's business (the revoked-token replica, ``gridcommons.replicas``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import ed25519_public_key
from .settings import InfraSettings

log = logging.getLogger("gridcommons.bearer")

MAX_TOKEN_LENGTH = 4096
TOKEN_TYPES = ("user", "client")
# A token judged at a broker's append time may have been issued by a gateway whose clock runs ahead.
ISSUED_AT_SKEW_SECONDS = 60.0
# Genuine tokens whose signature is not checked again (``BearerVerifier.verify``).
VERIFIED_CACHE_SIZE = 1024
VERIFIED_CACHE_SECONDS = 60.0


class InvalidToken(Exception):
    """The credential is refused; the message says why (safe to log and to put in a DLQ header)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ed25519_kid(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of an Ed25519 (OKP) public key: the ``kid`` the gateway puts in its tokens."""
    x = b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    thumb = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(thumb.encode()).digest())


def _key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey | None:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        return None
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class BearerClaims:
    subject: str
    kind: str  # "user" | "client"
    jti: str
    issued_at: float
    expires_at: float
    company_id: int | None  # machine clients: the company the client belongs to
    roles: frozenset[str] = field(default_factory=frozenset)


class BearerVerifier:
    """Verifies the gateway's bearer tokens with its public keys (static PEM and/or JWKS URL)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: list[Ed25519PublicKey] | None = None,
        jwks_url: str | None = None,
        min_refresh_seconds: float = 30.0,
        leeway_seconds: float = 0.0,
    ):
        if not keys and not jwks_url:
            raise ValueError(
                "no key to verify the gateway's bearer tokens: set TOKEN_JWKS_URL or TOKEN_PUBLIC_KEY(_FILE)"
            )
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.min_refresh = min_refresh_seconds
        self.leeway = leeway_seconds
        self._static = {ed25519_kid(k): k for k in keys or ()}
        self._fetched: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[float, BearerClaims]] = {}  # token -> (when verified, claims)

    @classmethod
    def from_settings(cls, infra: InfraSettings) -> BearerVerifier:
        keys: list[Ed25519PublicKey] = []
        pem = infra.token_public_key_pem()
        if pem:
            keys.append(ed25519_public_key(pem, "TOKEN_PUBLIC_KEY"))
        return cls(
            issuer=infra.token_issuer,
            audience=infra.token_audience,
            keys=keys,
            jwks_url=infra.token_jwks_url,
            min_refresh_seconds=infra.token_jwks_min_refresh_seconds,
        )

    async def _refresh(self) -> None:
        """Fetch the JWKS (at most once per ``min_refresh`` seconds). A gateway that cannot be
        reached is a ``ConnectionError``: the consumer retries the message, never dead-letters it."""
        if self.jwks_url is None:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.min_refresh:
                return
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    resp = await client.get(self.jwks_url)
                    resp.raise_for_status()
                    document = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("could not fetch the gateway's JWKS from %s (%s)", self.jwks_url, exc.__class__.__name__)
                raise ConnectionError(f"the gateway's JWKS is unavailable ({exc.__class__.__name__})") from exc
            keys = {}
            for jwk in document.get("keys", []) if isinstance(document, dict) else []:
                key = _key_from_jwk(jwk) if isinstance(jwk, dict) else None
                if key is not None:
                    keys[ed25519_kid(key)] = key
            self._fetched = keys
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> Ed25519PublicKey | None:
        key = self._static.get(kid) or self._fetched.get(kid)
        if key is None and self.jwks_url is not None:
            await self._refresh()
            key = self._fetched.get(kid)
        return key

    async def verify(self, token: str, *, at: float) -> BearerClaims:
        """The token's claims if it is genuine and valid at the epoch instant ``at``; else InvalidToken.

        A genuine token's claims are kept ``VERIFIED_CACHE_SECONDS`` (at most ``VERIFIED_CACHE_SIZE``
        tokens): an ingestion topic carries the same token on every message of a sender, and the
        signature check cost more than the rest of a message's decoding. The validity at ``at`` is
        judged on every call; a key withdrawn from the JWKS stops verifying within that time."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("invalid token")
        held = self._verified.get(token)
        if held is not None and time.monotonic() - held[0] < VERIFIED_CACHE_SECONDS:
            claims = held[1]
        else:
            claims = await self._genuine(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (time.monotonic(), claims)
        if at >= claims.expires_at + self.leeway:
            raise InvalidToken("token expired")
        if at < claims.issued_at - max(self.leeway, ISSUED_AT_SKEW_SECONDS):
            raise InvalidToken("token not valid yet at the message's time")
        return claims

    async def _genuine(self, token: str) -> BearerClaims:
        """The claims of a token signed by one of the gateway's keys, for this issuer and audience."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("invalid token: not a JWT") from None
        if header.get("alg") != "EdDSA":
            raise InvalidToken("invalid token: algorithm must be EdDSA")
        kid = header.get("kid")
        key = await self._key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("invalid token: unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "jti", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise InvalidToken("invalid token: bad signature") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("invalid token: wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("invalid token: wrong issuer") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        sub, typ, jti, iat, exp = (claims.get(k) for k in ("sub", "typ", "jti", "iat", "exp"))
        if (
            not isinstance(sub, str)
            or not sub
            or typ not in TOKEN_TYPES
            or not isinstance(jti, str)
            or not jti
            or not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
        ):
            raise InvalidToken("invalid token: malformed claims")
        company = claims.get("company_id")
        if company is not None and (isinstance(company, bool) or not isinstance(company, int) or company <= 0):
            raise InvalidToken("invalid token: malformed company_id claim")
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("invalid token: malformed roles claim")
        return BearerClaims(
            subject=sub,
            kind=typ,
            jti=jti,
            issued_at=float(iat),
            expires_at=float(exp),
            company_id=company,
            roles=frozenset(roles),
        )
