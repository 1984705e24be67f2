"""Bearer token verification: forgeries, expiry, unknown keys, JWKS, cross-replica revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from gwhelpers import bearer, client_for, register

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gridcommons.identity import generate_ed25519_pem
from gridcommons.testing.plugin import Stack


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(app: FastAPI, subject: str, **over: object) -> dict:
    signer = app.state.token_signer
    now = int(time.time())
    claims = {
        "sub": subject,
        "typ": "user",
        "jti": f"test-{now}-{subject}",
        "iat": now,
        "exp": now + 600,
        "iss": signer.issuer,
        "aud": signer.audience,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(stack: Stack, app: FastAPI, claims: dict, *, kid: str | None = None) -> str:
    key = serialization.load_pem_private_key(stack.token_private_pem.encode(), password=None)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid or app.state.token_signer.kid})


async def test_well_formed_forgeries_are_rejected(
    gateway_app: FastAPI, client: httpx.AsyncClient, stack: Stack
) -> None:
    user = await register(client)
    sub = str(user["user"]["id"])
    good = _sign(stack, gateway_app, _claims(gateway_app, sub, jti="own-jti-1"))
    assert (await client.get("/auth/info", headers=bearer(good))).status_code == 200  # the harness signs correctly

    expired = _sign(
        stack, gateway_app, _claims(gateway_app, sub, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    )
    r = await client.get("/auth/info", headers=bearer(expired))
    assert r.status_code == 401 and r.json() == {"detail": "Token expired"}

    header, payload, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert (await client.get("/auth/info", headers=bearer(f"{header}.{payload}.{flipped}"))).status_code == 401
    other_payload = _b64(_claims(gateway_app, str(int(sub) + 1), jti="own-jti-1"))
    assert (await client.get("/auth/info", headers=bearer(f"{header}.{other_payload}.{signature}"))).status_code == 401

    none_token = _b64({"alg": "none", "typ": "JWT", "kid": gateway_app.state.token_signer.kid}) + "." + payload + "."
    assert (await client.get("/auth/info", headers=bearer(none_token))).status_code == 401

    public_bytes = gateway_app.state.token_signer.public_pem().encode()
    hs = _b64({"alg": "HS256", "typ": "JWT", "kid": gateway_app.state.token_signer.kid}) + "." + payload
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(public_bytes, hs.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert (await client.get("/auth/info", headers=bearer(f"{hs}.{sig}"))).status_code == 401

    other_private, _ = generate_ed25519_pem()
    other_key = serialization.load_pem_private_key(other_private.encode(), password=None)
    unknown = jwt.encode(_claims(gateway_app, sub), other_key, algorithm="EdDSA", headers={"kid": "someone-else"})
    r = await client.get("/auth/info", headers=bearer(unknown))
    assert r.status_code == 401 and "unknown signing key" in r.json()["detail"]
    same_kid_other_key = jwt.encode(
        _claims(gateway_app, sub), other_key, algorithm="EdDSA", headers={"kid": gateway_app.state.token_signer.kid}
    )
    assert (await client.get("/auth/info", headers=bearer(same_kid_other_key))).status_code == 401
    no_kid = jwt.encode(
        _claims(gateway_app, sub),
        serialization.load_pem_private_key(stack.token_private_pem.encode(), None),
        algorithm="EdDSA",
    )
    assert (await client.get("/auth/info", headers=bearer(no_kid))).status_code == 401

    for missing in ("jti", "exp", "iat", "sub", "iss", "aud"):
        token = _sign(stack, gateway_app, _claims(gateway_app, sub, **{missing: None}))
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401, missing
    for bad in ({"aud": "someone-else"}, {"iss": "evil"}, {"typ": "admin"}, {"sub": "not-a-number"}, {"iat": "x"}):
        token = _sign(stack, gateway_app, _claims(gateway_app, sub, **bad))
        assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401, bad
    # a valid signature for a user that does not exist
    ghost = _sign(stack, gateway_app, _claims(gateway_app, "999999999"))
    assert (await client.get("/auth/info", headers=bearer(ghost))).status_code == 401


async def test_jwks_verifies_a_real_token(client: httpx.AsyncClient) -> None:
    user = await register(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    [key] = jwks["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA" and key["kid"]
    assert "d" not in key
    header = jwt.get_unverified_header(user["token"])
    assert header["alg"] == "EdDSA" and header["kid"] == key["kid"]
    claims = jwt.decode(
        user["token"],
        jwt.PyJWK(key).key,
        algorithms=["EdDSA"],
        audience="gridcommons-api",
        issuer="gridcommons-gateway",
    )
    assert claims["sub"] == str(user["user"]["id"]) and claims["typ"] == "user"
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]


async def test_revocation_reaches_another_replica(
    gateway_app: FastAPI, client: httpx.AsyncClient, migrated: Stack
) -> None:
    """Two gateway replicas: a logout on one is refused by the other within the bounded staleness."""
    other = create_app(GatewaySettings(), configure_logs=False)
    async with other.router.lifespan_context(other):
        async with client_for(other) as client_b:
            user = await register(client)
            token = user["token"]
            assert (await client_b.get("/auth/info", headers=bearer(token))).status_code == 200  # cached on B
            assert (await client.post("/auth/logout", headers=bearer(token))).status_code == 204
            assert (await client.get("/auth/info", headers=bearer(token))).status_code == 401  # immediately on A
            deadline = time.monotonic() + 2.0
            while (await client_b.get("/auth/info", headers=bearer(token))).status_code != 401:
                assert time.monotonic() < deadline, "replica B still accepts a revoked token after 2 s"
                await asyncio.sleep(0.02)


async def test_revocations_survive_a_restart(client: httpx.AsyncClient, migrated: Stack) -> None:
    user = await register(client)
    assert (await client.post("/auth/logout", headers=bearer(user["token"]))).status_code == 204
    fresh = create_app(GatewaySettings(), configure_logs=False)
    async with fresh.router.lifespan_context(fresh), client_for(fresh) as c:
        assert (await c.get("/auth/info", headers=bearer(user["token"]))).status_code == 401


async def test_fallback_poll_sees_revocations_and_membership_changes(
    gateway_app: FastAPI, client: httpx.AsyncClient, tenant: dict
) -> None:
    """Without NOTIFY, the 1 s poll alone brings a replica's caches up to date."""
    from gateway.auth.authenticator import GatewayAuthenticator

    replica = GatewayAuthenticator(
        gateway_app.state.token_signer, gateway_app.state.sessionmaker, gateway_app.state.settings
    )
    await replica.load_revocations()  # not running: no LISTEN, we drive the poll by hand
    user = await register(client)
    principal = await replica.authenticate(f"Bearer {user['token']}")
    member_id, company_id = int(tenant["member"]["user"]["id"]), tenant["id"]
    assert await replica.role(member_id, company_id) == "member"
    assert await replica.role(int(principal.subject), company_id) is None

    assert (await client.post("/auth/logout", headers=bearer(user["token"]))).status_code == 204
    r = await client.put(
        f"/api/gateway/companies/{company_id}/members/{member_id}",
        json={"role": "operator"},
        headers=bearer(tenant["superuser"]),
    )
    assert r.status_code == 200
    r = await client.put(
        f"/api/gateway/companies/{company_id}/members/{principal.subject}",
        json={"role": "member"},
        headers=bearer(tenant["superuser"]),
    )
    assert r.status_code == 200
    assert await replica.role(member_id, company_id) == "member"  # stale until the poll
    await replica.poll()
    assert principal.jti in replica.revoked
    assert await replica.role(member_id, company_id) == "operator"
    assert await replica.role(int(principal.subject), company_id) == "member"
