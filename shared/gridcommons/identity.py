"""Internal identity: the short-lived Ed25519 token the gateway attaches to every forwarded request.

Services verify it with the gateway's public key and trust nothing else about the caller;
a request that reaches a service without a valid one gets 401.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request

from .errors import DomainError, Forbidden, Unauthorized
from .keys import ed25519_private_key, ed25519_public_key, public_pem

INTERNAL_IDENTITY_HEADER = "x-gridcommons-identity"
AUDIENCE = "gridcommons-services"
ISSUER = "gridcommons-gateway"


@dataclass(frozen=True)
class Identity:
    subject: str  # user id, or machine client id
    kind: str  # "user" | "client"
    company_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    username: str | None = None
    superuser: bool = False

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.subject,
            "knd": self.kind,
            "cid": self.company_id,
            "rol": sorted(self.roles),
            "unm": self.username,
            "su": self.superuser,
        }

    @classmethod
    def from_claims(cls, c: dict[str, Any]) -> Identity:
        return cls(
            subject=str(c["sub"]),
            kind=str(c.get("knd", "user")),
            company_id=c.get("cid"),
            roles=frozenset(c.get("rol") or ()),
            username=c.get("unm"),
            superuser=bool(c.get("su", False)),
        )


def generate_ed25519_pem() -> tuple[str, str]:
    """A new key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private, public_pem(key)


def public_pem_of(private_key_pem: str) -> str:
    """The public key (PEM) of an Ed25519 private key (PEM)."""
    return public_pem(ed25519_private_key(private_key_pem, "private key"))


class IdentitySigner:
    """Signs internal identity tokens; reuses one per identity for half its life (cheap per request)."""

    def __init__(self, private_key_pem: str, *, ttl_seconds: int = 60):
        self._key = ed25519_private_key(private_key_pem, "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY")
        self.ttl = ttl_seconds
        self._cache: OrderedDict[Identity, tuple[str, float]] = OrderedDict()
        self._cache_size = 10_000

    def sign(self, identity: Identity) -> str:
        now = time.time()
        hit = self._cache.get(identity)
        if hit is not None and hit[1] > now:
            return hit[0]
        claims = identity.claims() | {"iss": ISSUER, "aud": AUDIENCE, "iat": int(now), "exp": int(now) + self.ttl}
        token = jwt.encode(claims, self._key, algorithm="EdDSA")
        self._cache[identity] = (token, now + self.ttl / 2)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return token


class IdentityVerifier:
    """Verifies internal tokens (EdDSA only), caching each verified token until it expires."""

    def __init__(self, public_key_pem: str):
        self._key = ed25519_public_key(public_key_pem, "INTERNAL_IDENTITY_PUBLIC_KEY")
        self._cache: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._cache_size = 10_000

    def verify(self, token: str) -> Identity:
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid internal identity") from exc
        identity = Identity.from_claims(claims)
        self._cache[token] = (identity, float(claims["exp"]))
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return identity


# The request dependencies are ``async def`` although they do not await: FastAPI runs a plain
# ``def`` dependency in a worker thread, and the thread hand-offs cost more CPU than the
# dependency itself (bench/README.md "service_request_cpu").
async def current_identity(request: Request) -> Identity:
    verifier: IdentityVerifier | None = getattr(request.app.state, "identity_verifier", None)
    token = request.headers.get(INTERNAL_IDENTITY_HEADER)
    if verifier is None or not token:
        raise Unauthorized("Missing internal identity: call this service through the gateway")
    return verifier.verify(token)


IdentityDep = Annotated[Identity, Depends(current_identity)]


@dataclass(frozen=True)
class TenantIdentity(Identity):
    """An identity acting inside one company (the gateway checked the membership): ``company_id`` is
    always set."""

    company_id: int

    @classmethod
    def of(cls, identity: Identity) -> TenantIdentity:
        """``identity`` inside its company; 400 when it names none."""
        if isinstance(identity, TenantIdentity):
            return identity
        if identity.company_id is None:
            raise DomainError("CompanyID header is required", status_code=400)
        fields = {f.name: getattr(identity, f.name) for f in dataclasses.fields(identity)}
        return cls(**fields)


async def tenant_identity(identity: IdentityDep) -> TenantIdentity:  # async: no worker-thread hop
    """An identity acting inside one company (the gateway checked the membership)."""
    return TenantIdentity.of(identity)


TenantDep = Annotated[TenantIdentity, Depends(tenant_identity)]


def require_roles(*roles: str) -> Any:
    """Dependency: the caller holds one of ``roles`` in the current company; its value is the
    caller's ``TenantIdentity``."""

    async def check(identity: TenantDep) -> TenantIdentity:
        if not identity.has_any(*roles):
            raise Forbidden("Insufficient role for this operation")
        return identity

    return Depends(check)
