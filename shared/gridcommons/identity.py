"""Internal identity: the short-lived Ed25519 token the gateway attaches to every forwarded request.

Services verify it with the gateway's public key and trust nothing else about the caller;
a request that reaches a service without a valid one gets 401.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request

from .errors import DomainError, Forbidden, Unauthorized

INTERNAL_IDENTITY_HEADER = "x-gridcommons-identity"
AUDIENCE = "gridcommons-services"
ISSUER = "gridcommons-gateway"
ROLES = ("admin", "operator", "member", "device")


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
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def public_pem_of(private_key_pem: str) -> str:
    """The public key (PEM) of an Ed25519 private key (PEM)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey), "expected an Ed25519 private key"
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class IdentitySigner:
    """Signs internal identity tokens; reuses one per identity for half its life (cheap per request)."""

    def __init__(self, private_key_pem: str, *, ttl_seconds: int = 60):
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey), "internal identity key must be Ed25519"
        self._key = key
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
        key = serialization.load_pem_public_key(public_key_pem.encode())
        assert isinstance(key, Ed25519PublicKey), "internal identity key must be Ed25519"
        self._key = key
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


async def tenant_identity(identity: IdentityDep) -> Identity:
    """An identity acting inside one company (the gateway checked the membership)."""
    if identity.company_id is None:
        raise DomainError("CompanyID header is required", status_code=400)
    return identity


TenantDep = Annotated[Identity, Depends(tenant_identity)]


def require_roles(*roles: str) -> Any:
    """Dependency: the caller holds one of ``roles`` in the current company."""

    async def check(identity: TenantDep) -> Identity:
        if not identity.has_any(*roles):
            raise Forbidden("Insufficient role for this operation")
        return identity

    return Depends(check)
