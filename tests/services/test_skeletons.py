"""The four service skeletons: each builds, migrates, answers its ops endpoints and refuses strangers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready


@dataclass(frozen=True)
class Skeleton:
    name: str
    package: str
    schema: str
    prefix: str
    port: int


SKELETONS = [
    Skeleton("metering-service", "metering_service", "metering", "METERING_", 8102),
    Skeleton("deal-service", "deal_service", "deal", "DEAL_", 8103),
    Skeleton("monitoring-service", "monitoring_service", "monitoring", "MONITORING_", 8104),
    Skeleton("community-service", "community_service", "community", "COMMUNITY_", 8105),
]
IDS = [s.name for s in SKELETONS]


@pytest.fixture(params=SKELETONS, ids=IDS)
async def client(request: pytest.FixtureRequest, migrated: Stack) -> AsyncIterator[httpx.AsyncClient]:
    sk: Skeleton = request.param
    app_module = importlib.import_module(f"{sk.package}.app")
    app = app_module.create_app(run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{sk.name}") as c:
            yield c


async def test_health_ready_metrics(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await wait_ready(client)  # the in-process outbox relay connected and did a first round
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == "ok" and all(w["ready"] for w in checks["workers"].values()), checks
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "http_requests_total" in metrics.text


async def test_no_identity_is_refused_not_crashed(client: httpx.AsyncClient) -> None:
    for path in ("/api/anything", "/api/staff/x", "/"):
        r = await client.get(path)
        assert r.status_code in (401, 404), (path, r.status_code, r.text)
        assert "detail" in r.json()
    forged = await client.post("/api/ingest/x", json={}, headers={"x-gridcommons-identity": "not-a-token"})
    assert forged.status_code in (401, 404, 405), forged.text


@pytest.mark.parametrize("sk", SKELETONS, ids=IDS)
def test_settings_prefix_and_port(sk: Skeleton, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_module = importlib.import_module(f"{sk.package}.settings")
    assert settings_module.load_settings().port == sk.port
    monkeypatch.setenv(f"{sk.prefix}PORT", "9999")
    monkeypatch.setenv(f"{sk.prefix}HOST", "0.0.0.0")
    monkeypatch.setenv(f"{sk.prefix}MAX_BODY_BYTES", "123")
    s = settings_module.load_settings()
    assert (s.port, s.host, s.max_body_bytes) == (9999, "0.0.0.0", 123)


@pytest.mark.parametrize("sk", SKELETONS, ids=IDS)
def test_workers_build_the_outbox_relay(sk: Skeleton) -> None:
    from gridcommons.outbox import OutboxRelay

    workers = importlib.import_module(f"{sk.package}.workers")
    engine = create_async_engine("postgresql+asyncpg://unused@127.0.0.1:1/unused")
    built = workers.build(workers.load_settings(), engine)
    assert [type(w) for w in built] == [OutboxRelay]
    assert built[0].outbox.schema == sk.schema


@pytest.mark.parametrize("sk", SKELETONS, ids=IDS)
async def test_migration_matches_kernel_tables(sk: Skeleton, migrated: Stack) -> None:
    """The kernel migration steps write the kernel tables out by hand: they must match
    gridcommons.outbox.kernel_tables and gridcommons.replicas.replica_tables."""
    db = importlib.import_module(f"{sk.package}.db")
    assert db.metadata.schema == sk.schema
    engine = create_async_engine(migrated.database_url)
    try:
        async with engine.connect() as conn:
            tables = (
                (
                    await conn.execute(
                        text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s ORDER BY 1"),
                        {"s": sk.schema},
                    )
                )
                .scalars()
                .all()
            )
            assert tables == ["alembic_version", "memberships", "outbox", "processed_events", "revoked_tokens"]
            # Models against the migrated schema: tests/services/test_migrations.py (every registry service).
    finally:
        await engine.dispose()
