"""The community registry replica (gridcommons.community_replica) in a consuming service's schema:
deal-service's own workers consume the registry topics of the real broker into the deal schema,
and the guards of gridcommons.community answer from it on a small app over the kernel fixtures."""

from __future__ import annotations

import asyncio
import importlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from deal_service import workers as deal_workers
from deal_service.db import community_replica
from deal_service.settings import DealSettings
from gridcommons.app import create_service_app
from gridcommons.community import (
    CLUSTER_CHANGED,
    CLUSTER_TOPIC,
    COMMUNITY_CHANGED,
    COMMUNITY_TOPIC,
    UNIT_CHANGED,
    UNIT_TOPIC,
    ClusterV1,
    CommunityV1,
    Resident,
    ResidentUnit,
    StaffCluster,
    UnitRef,
    UnitV1,
)
from gridcommons.consumer import ConsumerGroup
from gridcommons.db import make_sessionmaker
from gridcommons.events import CloudEvent
from gridcommons.testing.fixtures import InternalHeaders
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready
from gridcommons.worker import run_workers

from .conftest import collect, wait_for

lookup = community_replica.lookup
_ids = itertools.count(1)
FROM = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # a DST change day in Europe: the window is instants
TO = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def guard_router() -> APIRouter:
    router = APIRouter()

    @router.get("/t/staff")
    async def staff(cluster: StaffCluster) -> dict[str, Any]:
        return asdict(cluster)

    @router.get("/t/unit")
    async def unit(found: ResidentUnit) -> dict[str, Any]:
        return {"unit_code": found.unit_code, "unit_id": found.unit_id}

    @router.get("/t/resident")
    async def resident(units: Resident) -> list[str]:
        return [f"{u.community_code}/{u.cluster_code}/{u.unit_code}" for u in units]

    return router


@dataclass
class Replica:
    client: httpx.AsyncClient
    app: FastAPI

    async def session(self) -> AsyncSession:
        return self.app.state.sessionmaker()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def replica(migrated: Stack) -> AsyncIterator[Replica]:
    """deal-service's workers (relay + its ConsumerGroup with the community replica's consumer) in
    the lifespan of a small app whose routes use the three guards over deal-service's replica."""
    app = create_service_app(
        name="replica-guards",
        title="replica guards",
        settings=DealSettings(),
        routers=[guard_router()],
        workers=deal_workers.build,  # type: ignore[arg-type]
        run_workers_in_process=True,
        configure_logs=False,
    )
    app.state.registry_lookup = lookup
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as client:
            ready = await wait_ready(client)  # the consumer group joined and has its partitions
            assert ready.status_code == 200, ready.text
            yield Replica(client, app)


# ----------------------------------------------------------------------------- events
def record_id(company_id: int) -> int:
    return company_id * 1000 + next(_ids)


def event(kind: str, company_id: int, data: Any) -> CloudEvent:
    return CloudEvent(
        source="/services/community-service",
        type=kind,
        companyid=str(company_id),
        data=data.model_dump(mode="json"),
    )


async def send(topic: str, *events: CloudEvent, key: int) -> None:
    await produce(topic, [(str(key).encode(), e.to_bytes(), e.id) for e in events])


@dataclass
class Outline:
    """One community with one cluster and one unit, as community-service would publish them."""

    company_id: int
    community: CommunityV1
    cluster: ClusterV1
    unit: UnitV1

    @classmethod
    def make(cls, company_id: int, residents: list[int], code: str = "C1") -> Outline:
        community = CommunityV1(id=record_id(company_id), code=code, name="Community", version=1)
        cluster = ClusterV1(
            id=record_id(company_id),
            code="K1",
            name="Cluster",
            version=1,
            community_id=community.id,
            community_code=community.code,
        )
        unit = UnitV1(
            id=record_id(company_id),
            code="E001",
            name="Unit",
            version=1,
            community_id=community.id,
            community_code=community.code,
            cluster_id=cluster.id,
            cluster_code=cluster.code,
            available_from=FROM,
            available_to=TO,
            resident_ids=residents,
        )
        return cls(company_id, community, cluster, unit)

    async def publish(self) -> None:
        # The unit first: the topics are independent streams, a unit may come before its parents.
        await send(UNIT_TOPIC, event(UNIT_CHANGED, self.company_id, self.unit), key=self.unit.id)
        await send(CLUSTER_TOPIC, event(CLUSTER_CHANGED, self.company_id, self.cluster), key=self.cluster.id)
        await send(COMMUNITY_TOPIC, event(COMMUNITY_CHANGED, self.company_id, self.community), key=self.community.id)

    def unit_ref(self, unit: UnitV1 | None = None) -> UnitRef:
        u = unit or self.unit
        return UnitRef(
            company_id=self.company_id,
            community_id=u.community_id,
            community_code=u.community_code,
            cluster_id=u.cluster_id,
            cluster_code=u.cluster_code,
            unit_id=u.id,
            unit_code=u.code,
            resident_ids=frozenset(u.resident_ids),
            available_from=u.available_from,
            available_to=u.available_to,
            retired=u.retired_at is not None,
        )


async def find_unit(r: Replica, o: Outline, company_id: int | None = None) -> UnitRef | None:
    async with await r.session() as s:
        return await lookup.unit(s, company_id or o.company_id, o.unit.community_code, o.unit.cluster_code, o.unit.code)


async def replicated(r: Replica, o: Outline, timeout: float = 10.0) -> float:
    """Seconds until the unit, its cluster and its community are all in the replica."""

    async def all_there() -> bool:
        async with await r.session() as s:
            unit = await lookup.unit(s, o.company_id, o.community.code, "K1", "E001")
            cluster = await lookup.cluster(s, o.company_id, o.community.code, "K1")
            companies = await lookup.companies_with_community(s, o.community.code, [o.company_id])
            return unit is not None and cluster is not None and companies == [o.company_id]

    return await wait_for(all_there, timeout, step=0.02)


async def processed(r: Replica, *event_ids: str, timeout: float = 10.0) -> None:
    """Until deal-service's replica consumer has handled these events (its dedup log has them)."""
    table = community_replica.outbox.processed_table

    async def done() -> bool:
        async with await r.session() as s:
            rows = await s.execute(
                select(table.c.event_id).where(
                    table.c.consumer == "deal-service.community-replica", table.c.event_id.in_(event_ids)
                )
            )
            return len(rows.all()) == len(event_ids)

    await wait_for(done, timeout, step=0.02)


# ----------------------------------------------------------------------------- the replica
async def test_a_unit_event_is_visible_through_the_lookup(replica: Replica, company_id: int) -> None:
    # How fast (well under a second: bench/event_latency.py, "registry change -> replicas") is measured,
    # not asserted here; the wait only bounds a broken consumer.
    o = Outline.make(company_id, residents=[71, 42])
    unit_event = event(UNIT_CHANGED, company_id, o.unit)
    await send(UNIT_TOPIC, unit_event, key=o.unit.id)

    async def visible() -> bool:
        return await find_unit(replica, o) is not None

    await wait_for(visible, 30.0, step=0.01)
    found = await find_unit(replica, o)
    assert found == o.unit_ref()
    assert found is not None and found.resident_ids == {42, 71}
    assert (found.available_from, found.available_to) == (FROM, TO)
    # the cluster and community come on their own topics
    await send(CLUSTER_TOPIC, event(CLUSTER_CHANGED, company_id, o.cluster), key=o.cluster.id)
    await send(COMMUNITY_TOPIC, event(COMMUNITY_CHANGED, company_id, o.community), key=o.community.id)
    await replicated(replica, o)
    async with await replica.session() as s:
        cluster = await lookup.cluster(s, company_id, "C1", "K1")
        assert cluster is not None
        assert (cluster.company_id, cluster.community_id, cluster.cluster_id, cluster.retired) == (
            company_id,
            o.community.id,
            o.cluster.id,
            False,
        )
        assert await lookup.resident_units(s, company_id, 42) == [o.unit_ref()]
        assert await lookup.resident_units(s, company_id, 43) == []
        assert await lookup.cluster(s, company_id, "C1", "K2") is None
        assert await lookup.unit(s, company_id, "C1", "K1", "E002") is None


async def test_only_a_higher_version_changes_a_record(replica: Replica, company_id: int) -> None:
    o = Outline.make(company_id, residents=[1])
    await o.publish()
    await replicated(replica, o)
    v2 = o.unit.model_copy(update={"version": 2, "name": "Unit v2", "resident_ids": [1, 2]})
    v1_late = o.unit.model_copy(update={"name": "late redelivery", "resident_ids": [9]})
    v2_again = o.unit.model_copy(update={"version": 2, "name": "same version, other content"})
    first = event(UNIT_CHANGED, company_id, v2)
    late, again = event(UNIT_CHANGED, company_id, v1_late), event(UNIT_CHANGED, company_id, v2_again)
    # one key, one partition: applied in this order (the replay of `first` is skipped as a duplicate)
    await send(UNIT_TOPIC, first, late, first, again, key=o.unit.id)
    await processed(replica, first.id, late.id, again.id)
    assert await find_unit(replica, o) == o.unit_ref(v2)

    # retired: still found (history stays addressable), marked retired; its residents stay linked
    retired_at = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    v3 = v2.model_copy(update={"version": 3, "retired_at": retired_at})
    await send(UNIT_TOPIC, event(UNIT_CHANGED, company_id, v3), key=o.unit.id)
    cluster_v2 = o.cluster.model_copy(update={"version": 2, "retired_at": retired_at})
    await send(CLUSTER_TOPIC, event(CLUSTER_CHANGED, company_id, cluster_v2), key=o.cluster.id)

    async def retired() -> bool:
        async with await replica.session() as s:
            cluster = await lookup.cluster(s, company_id, "C1", "K1")
            unit = await find_unit(replica, o)
            return bool(cluster and cluster.retired and unit and unit.retired)

    await wait_for(retired, 10.0)
    assert await find_unit(replica, o) == o.unit_ref(v3)
    async with await replica.session() as s:
        assert [u.unit_id for u in await lookup.resident_units(s, company_id, 2)] == [o.unit.id]


async def test_another_companys_codes_are_unknown(replica: Replica, company_id: int) -> None:
    other = company_id + 500_000  # a tenant of its own (the fixture's ids stay far below)
    o = Outline.make(company_id, residents=[5])
    await o.publish()
    await replicated(replica, o)
    async with await replica.session() as s:
        assert await lookup.unit(s, other, "C1", "K1", "E001") is None
        assert await lookup.cluster(s, other, "C1", "K1") is None
        assert await lookup.resident_units(s, other, 5) == []
        assert await lookup.companies_with_community(s, "C1", [other]) == []
    # an event naming another company for an existing id changes nothing, whatever its version
    hijack = event(UNIT_CHANGED, other, o.unit.model_copy(update={"version": 99, "resident_ids": [6]}))
    await send(UNIT_TOPIC, hijack, key=o.unit.id)
    await processed(replica, hijack.id)
    assert await find_unit(replica, o) == o.unit_ref()
    assert await find_unit(replica, o, company_id=other) is None


async def test_units_by_codes(replica: Replica, company_id: int) -> None:
    """A list of unit references in one query: the company's units found (retired ones too), the unknown and
    another company's absent, malformed codes ignored."""
    o = Outline.make(company_id, residents=[5])
    retired = o.unit.model_copy(update={"version": 2, "retired_at": FROM})
    theirs = Outline.make(company_id + 500_000, residents=[5], code="C2")
    await o.publish()
    await theirs.publish()
    await replicated(replica, o)
    await replicated(replica, theirs)
    await send(UNIT_TOPIC, event(UNIT_CHANGED, company_id, retired), key=o.unit.id)
    await wait_for(lambda: _is_retired(replica, o), 10, step=0.02)
    wanted = [
        ("C1", "K1", "E001"),
        ("C1", "K1", "E404"),
        ("C2", "K1", "E001"),
        ("C1", "K1", "E001"),
        ("", "K1", "E001"),
    ]
    async with await replica.session() as s:
        found = await lookup.units_by_codes(s, company_id, wanted)
        assert found == {("C1", "K1", "E001"): o.unit_ref(retired)}
        assert await lookup.units_by_codes(s, company_id, []) == {}
        assert list(await lookup.units_by_codes(s, theirs.company_id, wanted)) == [("C2", "K1", "E001")]


async def _is_retired(r: Replica, o: Outline) -> bool:
    found = await find_unit(r, o)
    return found is not None and found.retired


async def test_invalid_events_go_to_the_dead_letter_topic(replica: Replica, company_id: int) -> None:
    o = Outline.make(company_id, residents=[])
    no_company = CloudEvent(
        source="/services/community-service", type=UNIT_CHANGED, data=o.unit.model_dump(mode="json")
    )
    bad_payload = CloudEvent(
        source="/services/community-service", type=UNIT_CHANGED, companyid=str(company_id), data={"id": o.unit.id}
    )
    reader = topic_reader(f"{UNIT_TOPIC}.dlq")
    await reader.start()
    try:
        await send(UNIT_TOPIC, no_company, bad_payload, key=o.unit.id)
        ids = {no_company.id.encode(), bad_payload.id.encode()}
        dead = await collect(reader, lambda m: dict(m.headers).get("ce_id") in ids, count=2)
        reasons = sorted(dict(m.headers)["dlq_error"].decode() for m in dead)
        assert "without a valid companyid" in reasons[0] or "without a valid companyid" in reasons[1]
        assert any("invalid org.gridcommons.community.unit.changed payload" in r for r in reasons)
    finally:
        await reader.stop()
    assert await find_unit(replica, o) is None


# ----------------------------------------------------------------------------- the guards over the replica
async def test_guards_answer_from_the_replica(
    replica: Replica, company_id: int, internal_headers: InternalHeaders
) -> None:
    resident_id, stranger_id = 7001, 7002
    o = Outline.make(company_id, residents=[resident_id])
    await o.publish()
    await replicated(replica, o)
    c = replica.client
    staff = internal_headers(company_id, "operator", subject="7003")
    resident = internal_headers(company_id, "member", subject=str(resident_id))
    stranger = internal_headers(company_id, "member", subject=str(stranger_id))
    device = internal_headers(company_id, "device", subject=str(resident_id))  # a client, whatever its id
    where = {"communityId": "C1", "clusterId": "K1"}
    unit = {**where, "unitId": "E001"}

    def detail(r: httpx.Response) -> tuple[int, Any]:
        return r.status_code, r.json()["detail"] if r.status_code >= 400 else r.json()

    # StaffCluster
    ok = await c.get("/t/staff", params=where, headers=staff)
    assert ok.status_code == 200 and ok.json() == {
        "company_id": company_id,
        "community_id": o.community.id,
        "community_code": "C1",
        "cluster_id": o.cluster.id,
        "cluster_code": "K1",
        "retired": False,
    }
    assert detail(await c.get("/t/staff", params={"communityId": "C1"}, headers=staff)) == (
        400,
        "no param : communityId, clusterId",
    )
    assert detail(await c.get("/t/staff", params={**where, "clusterId": ""}, headers=staff)) == (
        400,
        "no param : communityId, clusterId",
    )
    assert detail(await c.get("/t/staff", params={**where, "clusterId": "K9"}, headers=staff)) == (
        400,
        "bad param values : communityId, clusterId",
    )
    assert detail(await c.get("/t/staff", params=where, headers=resident)) == (403, "staff required")

    # ResidentUnit
    assert detail(await c.get("/t/unit", params=unit, headers=resident)) == (
        200,
        {"unit_code": "E001", "unit_id": o.unit.id},
    )
    assert detail(await c.get("/t/unit", params=where, headers=resident)) == (
        400,
        "no param : communityId, clusterId, unitId",
    )
    assert detail(await c.get("/t/unit", params={**unit, "unitId": "E404"}, headers=resident)) == (
        400,
        "bad param values : communityId, clusterId, unitId",
    )
    assert detail(await c.get("/t/unit", params=unit, headers=stranger)) == (403, "not a resident")
    assert detail(await c.get("/t/unit", params=unit, headers=staff)) == (403, "not a resident")  # staff ≠ resident
    assert detail(await c.get("/t/unit", params=unit, headers=device)) == (403, "not a resident")

    # Resident
    assert detail(await c.get("/t/resident", headers=resident)) == (200, ["C1/K1/E001"])
    assert detail(await c.get("/t/resident", headers=stranger)) == (403, "resident required")
    assert detail(await c.get("/t/resident", headers=staff)) == (403, "resident required")
    assert detail(await c.get("/t/resident", headers=device)) == (403, "resident required")

    # another tenant: the same codes and the same user id are unknown there
    other = company_id + 500_000
    elsewhere = internal_headers(other, "member", subject=str(resident_id))
    assert detail(await c.get("/t/unit", params=unit, headers=elsewhere)) == (
        400,
        "bad param values : communityId, clusterId, unitId",
    )
    assert detail(await c.get("/t/resident", headers=elsewhere)) == (403, "resident required")
    assert detail(await c.get("/t/staff", params=where, headers=internal_headers(other, "admin"))) == (
        400,
        "bad param values : communityId, clusterId",
    )


async def test_resident_units_are_ordered_by_codes(
    replica: Replica, company_id: int, internal_headers: InternalHeaders
) -> None:
    user = 8100
    outlines = [Outline.make(company_id, residents=[user], code=code) for code in ("b", "B", "a-2", "a")]
    for o in outlines:
        await o.publish()
    for o in outlines:
        await replicated(replica, o)
    r = await replica.client.get("/t/resident", headers=internal_headers(company_id, "member", subject=str(user)))
    # byte order ("C" collation): upper case before lower case
    assert r.status_code == 200 and r.json() == ["B/K1/E001", "a/K1/E001", "a-2/K1/E001", "b/K1/E001"]


# ----------------------------------------------------------------------------- version ordering, property
_property_companies = itertools.count(7_000_000)
_property_ids = itertools.count(1)

# (which of 3 units, which of 2 companies, version, residents)
unit_events = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 1),
        st.integers(1, 4),
        st.lists(st.integers(1, 5), max_size=3),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=unit_events)
async def test_replica_state_matches_a_reference_for_any_event_order(
    migrated: Stack, engine: AsyncEngine, events: list[Any]
) -> None:
    """Whatever the order, repeats and company claims of a unit's events, the replica holds what
    a plain reference says: the first event of an id creates it for its company; later ones of
    the same company replace it only with a higher version."""
    companies = [next(_property_companies), next(_property_companies)]
    base = 10**12 + next(_property_ids) * 10
    sessionmaker = make_sessionmaker(engine)
    reference: dict[int, tuple[int, int, frozenset[int]]] = {}  # unit id -> (company, version, residents)
    for slot, company_slot, version, residents in events:
        unit_id, company = base + slot, companies[company_slot]
        data = UnitV1(
            id=unit_id,
            code=f"U{slot}",
            name=f"v{version}",
            version=version,
            community_id=1,
            community_code="C",
            cluster_id=2,
            cluster_code="K",
            resident_ids=residents,
        )
        async with sessionmaker() as s:  # one transaction per message, as the consumer does
            await community_replica.apply_event(s, event(UNIT_CHANGED, company, data))
            await s.commit()
        held = reference.get(unit_id)
        if held is None or (held[0] == company and held[1] < version):
            reference[unit_id] = (company, version, frozenset(residents))
    async with sessionmaker() as s:
        for slot in range(3):
            unit_id = base + slot
            for company in companies:
                found = await lookup.unit(s, company, "C", "K", f"U{slot}")
                expected = reference.get(unit_id)
                if expected is None or expected[0] != company:
                    assert found is None
                else:
                    assert found is not None
                    assert (found.unit_id, found.unit_code, found.resident_ids) == (unit_id, f"U{slot}", expected[2])
        for company in companies:
            for user in range(1, 6):
                mine = await lookup.resident_units(s, company, user)
                assert [u.unit_id for u in mine] == sorted(
                    uid for uid, (c, _, residents) in reference.items() if c == company and user in residents
                )


# ----------------------------------------------------------------------------- wiring in every consuming service
CONSUMERS = {
    "deal_service": "deal_service.db",
    "monitoring_service": "monitoring_service.db",
    "gateway": "gateway.auth.db",
}


@pytest.mark.parametrize("package", list(CONSUMERS))
async def test_each_consuming_service_keeps_its_replica(
    migrated: Stack, engine: AsyncEngine, package: str, company_id: int
) -> None:
    """The service's own worker build consumes the registry into its schema, and its app's guards
    read that replica."""
    db = importlib.import_module(CONSUMERS[package])
    workers = importlib.import_module(f"{package}.workers")
    options = {"configure_logs": False} if package == "gateway" else {}  # the session's logging stays
    app = importlib.import_module(f"{package}.app").create_app(**options)
    assert app.state.registry_lookup is db.community_replica.lookup
    groups = [w for w in workers.build(workers.load_settings(), engine) if isinstance(w, ConsumerGroup)]
    runners = [r.name for g in groups for r in g.runners]
    assert f"{db.community_replica.service}.community-replica" in runners, runners
    code = f"wired-{package}"
    community = CommunityV1(id=record_id(company_id), code=code, name="Wired", version=1)
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(groups, stop))
    try:
        await send(COMMUNITY_TOPIC, event(COMMUNITY_CHANGED, company_id, community), key=community.id)
        sessionmaker = make_sessionmaker(engine)

        async def there() -> bool:
            async with sessionmaker() as s:
                found = await db.community_replica.lookup.companies_with_community(s, code, [company_id])
                return found == [company_id]

        await wait_for(there, 60.0, step=0.1)  # the group joins first (seconds on the embedded broker)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
