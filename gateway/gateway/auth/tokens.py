"""Bearer tokens: JWTs signed with Ed25519 (alg EdDSA), ``kid`` in the header, JWKS published.

Claims: ``sub`` (user id or machine client id), ``typ`` (user|client|session; ``session``: an
/api/core/login session, valid only as the ``sessionid`` cookie), ``jti``, ``iat``, ``exp``,
``iss``, ``aud``; machine client tokens also carry ``company_id`` (the client's company) and
``roles`` (``["device"]``), which the services' Kafka ingestion doors read (``gridcommons.ingest``).
Verification accepts EdDSA only, with our ``kid`` only, and requires every claim.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridcommons.bearer import b64url as _b64url
from gridcommons.bearer import ed25519_kid
from gridcommons.errors import Unauthorized
from gridcommons.keys import ed25519_private_key, public_pem, read_pem

from ..settings import GatewaySettings

log = logging.getLogger("gateway.auth.tokens")

TOKEN_TYPES = ("user", "client", "session")
INVALID = 'Bearer error="invalid_token"'
MAX_TOKEN_LENGTH = 4096


def load_signing_key(settings: GatewaySettings) -> Ed25519PrivateKey:
    """The configured token key (``gridcommons.keys``: a configured key that is missing, unreadable or
    not Ed25519 stops start-up); none configured: an ephemeral key, with a warning."""
    pem = read_pem("GATEWAY_TOKEN_PRIVATE_KEY", settings.token_private_key, settings.token_private_key_file)
    if not pem:
        log.warning(
            "no GATEWAY_TOKEN_PRIVATE_KEY(_FILE) configured: generated an ephemeral Ed25519 key; "
            "tokens will not survive a restart and replicas will not accept each other's tokens"
        )
        return Ed25519PrivateKey.generate()
    return ed25519_private_key(pem, "GATEWAY_TOKEN_PRIVATE_KEY")


@dataclass(frozen=True)
class Claims:
    sub: str
    typ: str
    jti: str
    exp: float
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        return max(0, int(self.expires_at.timestamp() - time.time()))


class TokenSigner:
    def __init__(self, private_key: Ed25519PrivateKey, *, issuer: str, audience: str):
        self._private = private_key
        self._public: Ed25519PublicKey = private_key.public_key()
        raw = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._x = _b64url(raw)
        # RFC 7638 thumbprint of the OKP key: stable across restarts and replicas sharing the key.
        self.kid = ed25519_kid(self._public)
        self.issuer = issuer
        self.audience = audience

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def public_pem(self) -> str:
        return public_pem(self._public)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self._x, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}

    def issue(self, subject: str, typ: str, ttl_seconds: int, extra: dict[str, Any] | None = None) -> IssuedToken:
        assert typ in TOKEN_TYPES
        now = int(time.time())
        jti = secrets.token_urlsafe(18)
        claims = (extra or {}) | {
            "sub": subject,
            "typ": typ,
            "jti": jti,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
        }
        token = jwt.encode(claims, self._private, algorithm="EdDSA", headers={"kid": self.kid})
        return IssuedToken(
            token=token,
            jti=jti,
            issued_at=datetime.fromtimestamp(now, UTC),
            expires_at=datetime.fromtimestamp(now + ttl_seconds, UTC),
        )

    def verify(self, token: str) -> Claims:
        """Signature, algorithm, kid and claims; raises Unauthorized (401). Revocation is checked by the caller."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID})
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID}) from exc
        if header.get("alg") != "EdDSA":
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID})
        if header.get("kid") != self.kid:
            raise Unauthorized("Invalid token: unknown signing key", headers={"WWW-Authenticate": INVALID})
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token expired", headers={"WWW-Authenticate": INVALID}) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID}) from exc
        sub, typ, jti, exp = claims.get("sub"), claims.get("typ"), claims.get("jti"), claims.get("exp")
        if (
            not isinstance(exp, int | float)
            or not isinstance(sub, str)
            or typ not in TOKEN_TYPES
            or not isinstance(jti, str)
            or not sub
            or not jti
        ):
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID})
        if typ in ("user", "session") and not sub.isdigit():
            raise Unauthorized("Invalid token", headers={"WWW-Authenticate": INVALID})
        return Claims(sub=sub, typ=typ, jti=jti, exp=float(exp), expires_at=datetime.fromtimestamp(exp, UTC))
