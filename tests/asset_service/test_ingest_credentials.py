"""The Kafka ingestion doors carry the same credential as the HTTP doors (gridcommons.ingest).

The gateway is the real one, served over HTTP, with its outbox relay running: companies, machine
clients, users and their tokens come from its auth API, revocations go through its real revocation
path and reach asset-service as ``token.revoked`` events.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from asset_helpers import create_asset

from asset_service.db import replicas
from gateway.app import create_app as create_gateway_app
from gateway.settings import GatewaySettings
from gateway.workers import build as build_gateway_workers
from gridcommons.bearer import BearerVerifier, InvalidToken
from gridcommons.consumer import PoisonMessage
from gridcommons.db import make_engine, make_sessionmaker, unit_of_work
from gridcommons.devstack import free_port
from gridcommons.events import CloudEvent
from gridcommons.identity import generate_ed25519_pem
from gridcommons.ingest import IngestDecoder
from gridcommons.settings import InfraSettings
from gridcommons.testing.asyncapi import record_errors
from gridcommons.testing.kafka import produce as produce_to
from gridcommons.testing.kafka import topic_reader
from gridcommons.testing.plugin import Stack, ingest_headers
from gridcommons.testing.servers import serve_app
from gridcommons.worker import run_workers

TOPIC = "ingest.asset-statuses.v1"
SUPERUSER = ("ingest-root", "ingest-root-Passw0rd!")
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@dataclass
class Gateway:
    url: str
    client: httpx.AsyncClient
    root: str = ""

    async def login(self, username: str, password: str) -> str:
        r = await self.client.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def company(self) -> int:
        r = await self.client.post(
            "/api/gateway/companies", json={"name": f"ingest-co-{uuid.uuid4().hex[:10]}"}, headers=bearer(self.root)
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def machine_client(self, company_id: int) -> tuple[str, str]:
        """A new machine client of the company: (client id, a client_credentials token)."""
        r = await self.client.post(
            "/api/gateway/machine-clients",
            json={"name": "meter gateway"},
            headers={**bearer(self.root), "CompanyID": str(company_id)},
        )
        assert r.status_code == 201, r.text
        creds = r.json()
        tok = await self.client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert tok.status_code == 200, tok.text
        return creds["client_id"], tok.json()["access_token"]

    async def user(self, company_id: int, role: str) -> tuple[int, str]:
        """A new user with ``role`` in the company: (user id, bearer token)."""
        name = f"ingest{uuid.uuid4().hex[:10]}"
        password = f"Ingest-Passw0rd!{name}"
        r = await self.client.post(
            "/auth/register",
            json={"username": name, "email": f"{name}@example.org", "password": password},
        )
        assert r.status_code in (200, 201), r.text
        token = await self.login(name, password)
        user_id = int((await self.client.get("/auth/info", headers=bearer(token))).json()["id"])
        r = await self.client.put(
            f"/api/gateway/companies/{company_id}/members/{user_id}", json={"role": role}, headers=bearer(self.root)
        )
        assert r.status_code in (200, 201), r.text
        return user_id, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def gateway(migrated: Stack, asset_app: object) -> AsyncIterator[Gateway]:
    """The gateway over real HTTP, and its outbox relay (publishes membership and token events)."""
    settings = GatewaySettings(bootstrap_superuser=":".join(SUPERUSER))
    engine = make_engine(settings.infra, application_name="ingest-credentials-gateway-relay")
    stop = asyncio.Event()
    relay = asyncio.create_task(run_workers(build_gateway_workers(settings, engine), stop))
    try:
        async with (
            serve_app(create_gateway_app(settings, configure_logs=False)) as url,
            httpx.AsyncClient(base_url=url, timeout=20) as client,
        ):
            gw = Gateway(url, client)
            gw.root = await gw.login(*SUPERUSER)
            yield gw
    finally:
        stop.set()
        await relay
        await engine.dispose()


async def sql(stack: Stack, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def eventually(stack: Stack, query: str, *args: Any, timeout: float = 30.0) -> None:
    """Wait until ``query`` returns true (the replica consumer caught up)."""
    deadline = time.monotonic() + timeout
    while not await sql(stack, query, *args):
        assert time.monotonic() < deadline, f"not within {timeout}s: {query} {args}"
        await asyncio.sleep(0.1)


def jti_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def entry(asset_id: str, status: str, at: datetime) -> dict[str, Any]:
    return {"asset_id": asset_id, "status": status, "effective_at": at.isoformat(), "reasons": []}


def statuses(*entries: dict[str, Any], company_id: int | None = None) -> bytes:
    body: dict[str, Any] = {"statuses": list(entries)}
    if company_id is not None:
        body["company_id"] = company_id
    return orjson.dumps(body)


async def history(client: httpx.AsyncClient, headers: dict[str, str], asset_id: str) -> list[tuple[str, str]]:
    r = await client.get(
        "/api/asset-statuses", params={"asset_ids": asset_id, "from": "2000-01-01T00:00:00Z"}, headers=headers
    )
    assert r.status_code == 200, r.text
    return [(s["status"], s["effective_at"]) for s in r.json()["statuses"]]


async def wait_history(
    client: httpx.AsyncClient, headers: dict[str, str], asset_id: str, count: int, timeout: float = 30.0
) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while len(got := await history(client, headers, asset_id)) < count:
        assert time.monotonic() < deadline, got
        await asyncio.sleep(0.1)
    return got


class DeadLetters:
    def __init__(self) -> None:
        self.reader = topic_reader(f"{TOPIC}.dlq")

    async def wait(self, keys: set[bytes], timeout: float = 30.0) -> dict[bytes, str]:
        """{key: dlq_error} of the dead letters with these keys."""
        got: dict[bytes, str] = {}
        deadline = time.monotonic() + timeout
        while not keys <= got.keys():
            assert time.monotonic() < deadline, f"dead letters {sorted(got)} of {sorted(keys)}"
            for records in (await self.reader.getmany(timeout_ms=300)).values():
                for r in records:
                    if r.key in keys:
                        headers = dict(r.headers)
                        assert "authorization" not in headers, "a sender's credential reached the DLQ"
                        got[r.key] = headers["dlq_error"].decode()
        return got


@pytest.fixture
async def dead_letters() -> AsyncIterator[DeadLetters]:
    dl = DeadLetters()
    await dl.reader.start()
    try:
        yield dl
    finally:
        await dl.reader.stop()


async def produce(messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    await produce_to(TOPIC, client_id="ingest-credential-tests", messages=[(k, v, None, h) for k, v, h in messages])


# ----------------------------------------------------------------------------- tests


async def test_device_token_applies_with_the_tokens_company(
    gateway: Gateway, asset_client: httpx.AsyncClient, internal_headers
) -> None:
    company = await gateway.company()
    _, token = await gateway.machine_client(company)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["company_id"] == company and claims["roles"] == ["device"]  # the gateway's new claims
    op = internal_headers(company, "operator")
    a = await create_asset(
        asset_client,
        op,
        {"code": "k1", "name": "k1", "type": "PV", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"},
    )
    envelope = CloudEvent(source="/devices/gw-1", type="t", data={"statuses": [entry(a, "LIMITED", T0)]})
    messages = [
        (b"k1", statuses(entry(a, "AVAILABLE", T0 - timedelta(hours=1))), ingest_headers(token)),  # no company
        (b"k1", envelope.to_bytes(), ingest_headers(token)),  # an envelope without companyid
        (b"k1", statuses(entry(a, "OFFLINE", T0 + timedelta(hours=1)), company_id=company), ingest_headers(token)),
    ]
    for _, value, headers in messages:  # each encoding the consumer accepts is one the AsyncAPI document gives
        assert record_errors("ingest.asset-statuses", value, headers) == []
    await produce(messages)
    got = await wait_history(asset_client, op, a, 3)
    assert [s for s, _ in got] == ["AVAILABLE", "LIMITED", "OFFLINE"]


async def test_refused_credentials_go_to_the_dlq_and_write_nothing(
    gateway: Gateway,
    asset_client: httpx.AsyncClient,
    internal_headers,
    bearer_token,
    dead_letters: DeadLetters,
    stack: Stack,
) -> None:
    company = await gateway.company()
    other = await gateway.company()
    _, device = await gateway.machine_client(company)
    member_id, member_token = await gateway.user(company, "member")
    _, outsider_token = await gateway.user(other, "operator")
    op = internal_headers(company, "operator")
    a = await create_asset(
        asset_client,
        op,
        {"code": "k2", "name": "k2", "type": "PV", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"},
    )
    # the other company owns an asset with the same id? no: ids are global; it has its own asset
    b = await create_asset(
        asset_client,
        internal_headers(other, "operator"),
        {"code": "k2", "name": "k2", "type": "PV", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"},
    )
    forged_key, _ = generate_ed25519_pem()
    now = time.time()
    body = statuses(entry(a, "UNAVAILABLE", T0))
    await eventually(
        stack,
        "SELECT EXISTS (SELECT 1 FROM asset.memberships WHERE company_id = $1 AND member = $2)",
        company,
        str(member_id),
    )
    tag = uuid.uuid4().hex[:8]
    refused: dict[str, tuple[bytes, list[tuple[str, bytes]], str]] = {
        "other-company-body": (
            statuses(entry(b, "UNAVAILABLE", T0), company_id=other),
            ingest_headers(device),
            "not the credential's company",
        ),
        "other-company-envelope": (
            CloudEvent(
                source="/x", type="t", companyid=str(other), data={"statuses": [entry(b, "OFFLINE", T0)]}
            ).to_bytes(),
            ingest_headers(device),
            "not the credential's company",
        ),
        "other-company-header": (body, ingest_headers(device, other), "not the credential's company"),
        "missing": (body, [], "credential missing"),
        "not-bearer": (body, [("authorization", f"Token {device}".encode())], "must be 'Bearer <token>'"),
        "expired": (
            body,
            ingest_headers(bearer_token(company, "device", iat=now - 7200, exp=now - 60)),
            "token expired",
        ),
        "wrong-signature": (body, ingest_headers(bearer_token(company, "device", key=forged_key)), "bad signature"),
        "garbage": (body, ingest_headers("not.a.jwt"), "credential refused"),
        "wrong-audience": (
            body,
            ingest_headers(bearer_token(company, "device", claims={"aud": "elsewhere"})),
            "wrong audience",
        ),
        "no-company-claim": (
            body,
            ingest_headers(bearer_token(company, "device", claims={"company_id": None})),
            "without a company",
        ),
        "member-role": (body, ingest_headers(member_token, company), "insufficient role"),
        "user-without-company": (body, ingest_headers(member_token), "needs the companyid header"),
        "user-of-another-company": (body, ingest_headers(outsider_token, company), "not a member of company"),
    }
    await produce([(f"{tag}-{name}".encode(), value, headers) for name, (value, headers, _) in refused.items()])
    # a good message after them: once it is applied, every refused one has been judged
    await produce(
        [(f"{tag}-good".encode(), statuses(entry(a, "AVAILABLE", T0 + timedelta(hours=3))), ingest_headers(device))]
    )
    got = await dead_letters.wait({f"{tag}-{name}".encode() for name in refused})
    for name, (_, _, reason) in refused.items():
        error = got[f"{tag}-{name}".encode()]
        assert error.startswith("PoisonMessage") and reason in error, (name, error)
    assert await wait_history(asset_client, op, a, 1) == [("AVAILABLE", "2026-07-01T11:00:00Z")]
    assert await history(asset_client, internal_headers(other, "member"), b) == []


async def test_revoked_credentials_are_refused(
    gateway: Gateway,
    asset_client: httpx.AsyncClient,
    internal_headers,
    dead_letters: DeadLetters,
    stack: Stack,
) -> None:
    """Revocation through the gateway's real paths (machine client revoked, user logout); the
    service learns it from gateway.token.v1."""
    company = await gateway.company()
    client_id, device = await gateway.machine_client(company)
    user_id, operator = await gateway.user(company, "operator")
    op = internal_headers(company, "operator")
    a = await create_asset(
        asset_client,
        op,
        {"code": "k3", "name": "k3", "type": "PV", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"},
    )
    await eventually(
        stack,
        "SELECT EXISTS (SELECT 1 FROM asset.memberships WHERE company_id = $1 AND member = $2)",
        company,
        str(user_id),
    )
    # both are accepted while valid: the device by its claims, the user (operator) by the membership replica
    await produce(
        [
            (b"k3", statuses(entry(a, "AVAILABLE", T0)), ingest_headers(device)),
            (b"k3", statuses(entry(a, "LIMITED", T0 + timedelta(hours=1))), ingest_headers(operator, company)),
        ]
    )
    assert len(await wait_history(asset_client, op, a, 2)) == 2

    r = await gateway.client.delete(
        f"/api/gateway/machine-clients/{client_id}", headers={**bearer(gateway.root), "CompanyID": str(company)}
    )
    assert r.status_code == 204, r.text
    r = await gateway.client.post("/auth/logout", headers=bearer(operator))
    assert r.status_code == 204, r.text
    for token in (device, operator):
        await eventually(stack, "SELECT EXISTS (SELECT 1 FROM asset.revoked_tokens WHERE jti = $1)", jti_of(token))

    tag = uuid.uuid4().hex[:8]
    await produce(
        [
            (f"{tag}-device".encode(), statuses(entry(a, "OFFLINE", T0 + timedelta(hours=2))), ingest_headers(device)),
            (
                f"{tag}-user".encode(),
                statuses(entry(a, "OFFLINE", T0 + timedelta(hours=3))),
                ingest_headers(operator, company),
            ),
        ]
    )
    got = await dead_letters.wait({f"{tag}-device".encode(), f"{tag}-user".encode()})
    assert all("token revoked" in error for error in got.values()), got
    assert len(await history(asset_client, op, a)) == 2


async def test_jwks_url_verifies_the_gateways_tokens(gateway: Gateway, bearer_token) -> None:
    """A service configured with the gateway's JWKS URL instead of a key file."""
    company = await gateway.company()
    _, token = await gateway.machine_client(company)
    infra = InfraSettings()
    verifier = BearerVerifier(
        issuer=infra.token_issuer, audience=infra.token_audience, jwks_url=f"{gateway.url}/.well-known/jwks.json"
    )
    claims = await verifier.verify(token, at=time.time())
    assert (claims.kind, claims.company_id, claims.roles) == ("client", company, frozenset({"device"}))
    forged_key, _ = generate_ed25519_pem()
    with pytest.raises(InvalidToken, match="bad signature"):
        await verifier.verify(bearer_token(company, "device", key=forged_key), at=time.time())
    # the gateway away: a transient error (the consumer retries the message), not a refusal
    away = BearerVerifier(
        issuer=infra.token_issuer, audience=infra.token_audience, jwks_url=f"http://127.0.0.1:{free_port()}/jwks"
    )
    with pytest.raises(ConnectionError):
        await away.verify(token, at=time.time())


def record(headers: list[tuple[str, bytes]], *, timestamp: float, timestamp_type: int) -> ConsumerRecord[bytes, bytes]:
    value = statuses()
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=0,
        timestamp=int(timestamp * 1000),
        timestamp_type=timestamp_type,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=headers,
    )


async def test_a_message_that_waited_past_its_tokens_expiry(migrated: Stack, bearer_token) -> None:
    """Judged at the broker's append time (LogAppendTime) within the grace; a producer's CreateTime is
    not trusted (it could be backdated), so such a message is judged at consumption."""
    infra = InfraSettings()
    decoder = IngestDecoder(BearerVerifier.from_settings(infra), replicas, roles={"device"}, grace_seconds=600)
    company = 4_242_424
    now = time.time()
    expired = ingest_headers(bearer_token(company, "device", iat=now - 3600, exp=now - 60))
    long_expired = ingest_headers(bearer_token(company, "device", iat=now - 7200, exp=now - 3600))
    engine = make_engine(infra, application_name="ingest-expiry-test")
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            # appended by the broker while the token was valid, consumed 60 s after it expired: applied
            message = await decoder.decode(session, record(expired, timestamp=now - 120, timestamp_type=1))
            assert message.company_id == company and message.role == "device"
            # the same producer-stamped (CreateTime): judged now, refused
            with pytest.raises(PoisonMessage, match="token expired"):
                await decoder.decode(session, record(expired, timestamp=now - 120, timestamp_type=0))
            # appended while valid, but the token expired longer than the grace ago
            with pytest.raises(PoisonMessage, match="longer than the ingestion grace"):
                await decoder.decode(session, record(long_expired, timestamp=now - 4000, timestamp_type=1))
            # appended after the token expired
            with pytest.raises(PoisonMessage, match="token expired"):
                await decoder.decode(session, record(expired, timestamp=now - 30, timestamp_type=1))
    finally:
        await engine.dispose()
