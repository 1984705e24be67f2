"""Every service of the registry (deploy/services.toml) on the template: each builds, migrates,
answers its ops endpoints and refuses strangers. A skeleton (a service whose schema holds only the
kernel tables) is checked to be exactly the template."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gridcommons.registry import ServiceEntry, load_registry
from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready

SERVICES = [e for e in load_registry() if not e.is_gateway]
IDS = [e.name for e in SERVICES]
KERNEL_TABLES = {"memberships", "outbox", "processed_events", "revoked_tokens"}
# gridcommons.community_replica: a skeleton that will check the registry guards keeps it already.
COMMUNITY_REPLICA_TABLES = {"registry_communities", "registry_clusters", "registry_units"}


def is_skeleton(entry: ServiceEntry) -> bool:
    importlib.import_module(entry.app.partition(":")[0])  # registers the domain's models
    db = importlib.import_module(f"{entry.package}.db")
    return {t.name for t in db.metadata.tables.values()} - COMMUNITY_REPLICA_TABLES == KERNEL_TABLES


@pytest.fixture(params=SERVICES, ids=IDS)
async def client(request: pytest.FixtureRequest, migrated: Stack) -> AsyncIterator[httpx.AsyncClient]:
    entry: ServiceEntry = request.param
    app_module = importlib.import_module(f"{entry.package}.app")
    app = app_module.create_app(run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{entry.name}") as c:
            yield c


def test_skeletons_are_told_from_services_with_a_domain() -> None:
    by_name = {e.name: e for e in SERVICES}
    assert not is_skeleton(by_name["asset-service"])  # the template service has its domain tables


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


@pytest.mark.parametrize("entry", SERVICES, ids=IDS)
def test_settings_prefix_and_port(entry: ServiceEntry, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_module = importlib.import_module(f"{entry.package}.settings")
    monkeypatch.delenv(entry.port_env, raising=False)
    assert settings_module.load_settings().port == entry.port
    monkeypatch.setenv(entry.port_env, "9999")
    monkeypatch.setenv(f"{entry.env_prefix}HOST", "0.0.0.0")
    monkeypatch.setenv(f"{entry.env_prefix}MAX_BODY_BYTES", "123")
    s = settings_module.load_settings()
    assert (s.port, s.host, s.max_body_bytes) == (9999, "0.0.0.0", 123)


@pytest.mark.parametrize("entry", SERVICES, ids=IDS)
def test_workers_build_the_outbox_relay(entry: ServiceEntry) -> None:
    from gridcommons.consumer import ConsumerGroup
    from gridcommons.outbox import OutboxRelay

    module, _, attr = (entry.workers or "").partition(":")
    workers = importlib.import_module(module)
    db = importlib.import_module(f"{entry.package}.db")
    engine = create_async_engine("postgresql+asyncpg://unused@127.0.0.1:1/unused")
    built = getattr(workers, attr)(workers.load_settings(), engine)
    relays = [w for w in built if isinstance(w, OutboxRelay)]
    assert len(relays) == 1 and relays[0].outbox.schema == db.metadata.schema
    if is_skeleton(entry):
        # The relay, and the replicas' consumer when the skeleton keeps the community replica.
        assert [type(w) for w in built][:1] == [OutboxRelay] and len(built) <= 2
        for group in built[1:]:
            assert isinstance(group, ConsumerGroup)
            assert {r.name.rpartition(".")[2] for r in group.runners} <= {"gateway-replicas", "community-replica"}


@pytest.mark.parametrize("entry", SERVICES, ids=IDS)
async def test_migration_matches_kernel_tables(entry: ServiceEntry, migrated: Stack) -> None:
    """The kernel migration steps write the kernel tables out by hand: they must match
    gridcommons.outbox.kernel_tables and gridcommons.replicas.replica_tables, in every service."""
    db = importlib.import_module(f"{entry.package}.db")
    schema = db.metadata.schema
    assert schema and schema == db.SCHEMA
    engine = create_async_engine(migrated.database_url)
    try:
        async with engine.connect() as conn:
            tables = set(
                (
                    await conn.execute(
                        text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                        {"s": schema},
                    )
                )
                .scalars()
                .all()
            )
            assert KERNEL_TABLES | {"alembic_version"} <= tables
            if is_skeleton(entry):
                assert tables - COMMUNITY_REPLICA_TABLES == KERNEL_TABLES | {"alembic_version"}
            # Models against the migrated schema: tests/services/test_migrations.py (every registry service).
    finally:
        await engine.dispose()
