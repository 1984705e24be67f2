"""``BearerVerifier`` keeps a genuine token's claims (ingestion messages repeat their sender's token), but
judges the token's validity at every call's instant, and never keeps a refused token."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridcommons.bearer import BearerVerifier, InvalidToken, ed25519_kid
from gridcommons.identity import generate_ed25519_pem
from gridcommons.keys import ed25519_public_key

ISSUER, AUDIENCE = "https://gateway.test", "gridcommons"


def token(private_pem: str, *, iat: float, exp: float) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    claims = {
        "sub": "mc_1",
        "typ": "client",
        "jti": uuid.uuid4().hex,
        "iat": int(iat),
        "exp": int(exp),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "company_id": 7,
        "roles": ["device"],
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": ed25519_kid(key.public_key())})


async def test_kept_claims_are_judged_at_every_instant() -> None:
    private, public = generate_ed25519_pem()
    verifier = BearerVerifier(issuer=ISSUER, audience=AUDIENCE, keys=[ed25519_public_key(public, "test")])
    now = time.time()
    good = token(private, iat=now - 10, exp=now + 60)
    first = await verifier.verify(good, at=now)
    assert await verifier.verify(good, at=now + 30) == first  # kept
    with pytest.raises(InvalidToken, match="token expired"):
        await verifier.verify(good, at=now + 61)
    with pytest.raises(InvalidToken, match="not valid yet"):
        await verifier.verify(good, at=now - 3600)
    assert (await verifier.verify(good, at=now)).company_id == 7


async def test_a_refused_token_is_refused_every_time() -> None:
    private, public = generate_ed25519_pem()
    forged, _ = generate_ed25519_pem()
    verifier = BearerVerifier(issuer=ISSUER, audience=AUDIENCE, keys=[ed25519_public_key(public, "test")])
    now = time.time()
    good = token(private, iat=now, exp=now + 60)
    await verifier.verify(good, at=now)
    head, body, _ = good.split(".")
    _, _, signature = token(forged, iat=now, exp=now + 60).split(".")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await verifier.verify(f"{head}.{body}.{signature}", at=now)
