"""gridcommons.identity: the gateway's short-lived Ed25519 internal identity token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from gridcommons.errors import DomainError, Unauthorized, install_error_handlers
from gridcommons.identity import (
    AUDIENCE,
    INTERNAL_IDENTITY_HEADER,
    ISSUER,
    Identity,
    IdentityDep,
    IdentitySigner,
    IdentityVerifier,
    TenantDep,
    TenantIdentity,
    generate_ed25519_pem,
    require_roles,
)
from gridcommons.keys import KeyConfigError

PRIVATE, PUBLIC = generate_ed25519_pem()
OTHER_PRIVATE, OTHER_PUBLIC = generate_ed25519_pem()

ALICE = Identity(subject="42", kind="user", company_id=7, roles=frozenset({"operator", "member"}), username="alice")
DEVICE = Identity(subject="meter-gw-1", kind="client", company_id=7, roles=frozenset({"device"}))
ROOT = Identity(subject="1", kind="user", company_id=None, roles=frozenset(), username="root", superuser=True)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return ALICE.claims() | {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60} | overrides


def private_key():  # type: ignore[no-untyped-def]
    return serialization.load_pem_private_key(PRIVATE.encode(), password=None)


@pytest.mark.parametrize("identity", [ALICE, DEVICE, ROOT], ids=["user", "client", "superuser"])
def test_sign_verify_round_trip(identity: Identity) -> None:
    token = IdentitySigner(PRIVATE).sign(identity)
    assert IdentityVerifier(PUBLIC).verify(token) == identity


def test_claims_round_trip() -> None:
    for identity in (ALICE, DEVICE, ROOT):
        assert Identity.from_claims(identity.claims()) == identity
    assert ALICE.has_any("admin", "operator") and not ALICE.has_any("admin", "device")


def test_expired_token_is_rejected() -> None:
    token = IdentitySigner(PRIVATE, ttl_seconds=-10).sign(ALICE)
    with pytest.raises(Unauthorized):
        IdentityVerifier(PUBLIC).verify(token)


def test_token_signed_with_another_key_is_rejected() -> None:
    token = IdentitySigner(OTHER_PRIVATE).sign(ALICE)
    with pytest.raises(Unauthorized):
        IdentityVerifier(PUBLIC).verify(token)


def hs256(payload: dict[str, object], secret: bytes) -> str:
    """An HS256 JWT built by hand (PyJWT itself refuses a PEM as an HMAC secret)."""

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(payload).encode())
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


def test_hs256_token_is_rejected() -> None:
    # Including the algorithm-confusion attack: the public key PEM used as the HMAC secret.
    for secret in (b"a-shared-secret-of-at-least-32-bytes!", PUBLIC.encode()):
        token = hs256(claims(), secret)
        with pytest.raises(Unauthorized):
            IdentityVerifier(PUBLIC).verify(token)


def test_unsigned_token_is_rejected() -> None:
    token = jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(Unauthorized):
        IdentityVerifier(PUBLIC).verify(token)


@pytest.mark.parametrize(
    "bad",
    [
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"exp": None},
        {"iat": None},
        {"sub": None},
    ],
    ids=["audience", "issuer", "no-exp", "no-iat", "no-sub"],
)
def test_wrong_or_missing_claims_are_rejected(bad: dict[str, object]) -> None:
    c = {k: v for k, v in claims(**bad).items() if v is not None}
    token = jwt.encode(c, private_key(), algorithm="EdDSA")
    with pytest.raises(Unauthorized):
        IdentityVerifier(PUBLIC).verify(token)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30."])
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(Unauthorized):
        IdentityVerifier(PUBLIC).verify(garbage)


def test_verifier_cache_returns_the_same_identity() -> None:
    verifier = IdentityVerifier(PUBLIC)
    token = IdentitySigner(PRIVATE).sign(ALICE)
    first = verifier.verify(token)
    assert verifier.verify(token) is first


def test_verifier_cache_does_not_outlive_the_token() -> None:
    verifier = IdentityVerifier(PUBLIC)
    now = int(time.time())
    token = jwt.encode(claims(iat=now - 10, exp=now + 1), private_key(), algorithm="EdDSA")
    assert verifier.verify(token) == ALICE
    time.sleep(1.1)
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_signer_reuses_a_token_for_the_same_identity() -> None:
    signer = IdentitySigner(PRIVATE)
    assert signer.sign(ALICE) == signer.sign(ALICE)
    assert signer.sign(ALICE) != signer.sign(DEVICE)


def test_keys_must_be_ed25519() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyConfigError, match="must be an Ed25519 private key"):
        IdentitySigner(pem.decode())
    with pytest.raises(KeyConfigError, match="must be an Ed25519 public key"):
        IdentityVerifier(pub.decode())


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.identity_verifier = IdentityVerifier(PUBLIC)

    @app.get("/me")
    async def me(who: IdentityDep) -> dict[str, object]:
        return {"sub": who.subject}

    @app.get("/tenant")
    async def tenant(who: TenantDep) -> dict[str, object]:
        return {"cid": who.company_id}

    @app.get("/operators")
    async def operators(who=require_roles("admin", "operator")) -> dict[str, object]:  # type: ignore[no-untyped-def]
        return {"sub": who.subject}

    @app.get("/operators/identity")
    async def operator_identity(who=require_roles("admin", "operator")) -> dict[str, object]:  # type: ignore[no-untyped-def]
        # What require_roles hands the endpoint: a TenantIdentity, its company an int.
        return {
            "type": type(who).__name__,
            "company_id": who.company_id,
            "company_id_type": type(who.company_id).__name__,
            "fields": [who.subject, who.kind, sorted(who.roles), who.username, who.superuser],
        }

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_dependencies(client: httpx.AsyncClient) -> None:
    signer = IdentitySigner(PRIVATE)

    def h(identity: Identity) -> dict[str, str]:
        return {INTERNAL_IDENTITY_HEADER: signer.sign(identity)}

    assert (await client.get("/me")).status_code == 401
    assert (await client.get("/me", headers={INTERNAL_IDENTITY_HEADER: "x"})).status_code == 401
    assert (
        await client.get("/me", headers={INTERNAL_IDENTITY_HEADER: IdentitySigner(OTHER_PRIVATE).sign(ALICE)})
    ).status_code == 401
    assert (await client.get("/me", headers=h(ALICE))).json() == {"sub": "42"}
    assert (await client.get("/tenant", headers=h(ALICE))).json() == {"cid": 7}
    assert (await client.get("/tenant", headers=h(ROOT))).status_code == 400
    assert (await client.get("/operators", headers=h(ALICE))).status_code == 200
    assert (await client.get("/operators", headers=h(DEVICE))).status_code == 403


async def test_require_roles_gives_a_tenant_identity(client: httpx.AsyncClient) -> None:
    signer = IdentitySigner(PRIVATE)
    r = await client.get("/operators/identity", headers={INTERNAL_IDENTITY_HEADER: signer.sign(ALICE)})
    assert r.json() == {
        "type": "TenantIdentity",
        "company_id": 7,
        "company_id_type": "int",
        "fields": ["42", "user", ["member", "operator"], "alice", False],
    }
    r = await client.get("/operators/identity", headers={INTERNAL_IDENTITY_HEADER: signer.sign(ROOT)})
    assert r.status_code == 400 and r.json() == {"detail": "CompanyID header is required"}


def test_tenant_identity_of() -> None:
    tenant = TenantIdentity.of(ALICE)
    assert isinstance(tenant, TenantIdentity) and isinstance(tenant, Identity)
    assert tenant.company_id == 7 and tenant.claims() == ALICE.claims()
    assert TenantIdentity.of(tenant) is tenant
    with pytest.raises(DomainError, match="CompanyID header is required"):
        TenantIdentity.of(ROOT)
