"""Unit data (seed 004 unitData): the HTTP door, the staff and resident reads with their guards,
masking of the network identifiers, idempotency, tenant isolation, events."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import outbox_events
from unit_data_helpers import CLUSTER, COMMUNITY, document, register, without_network

from metering_service.unit_data.events import UnitDataRecordedV1

RECORDED = "org.gridcommons.metering.unit-data.recorded"
WHERE = {"communityId": COMMUNITY, "clusterId": CLUSTER}


async def ingest(client: httpx.AsyncClient, headers: dict[str, str], docs: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/api/ingest/unit-data", json={"unit_data": docs}, headers=headers)


def detail(r: httpx.Response) -> Any:
    return r.json()["detail"]


async def test_latest_set_unit_id_list_replays_and_events(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    units = await register(metering_app, company_id, ["E001", "E002", "E003"])
    op = internal_headers(company_id, "operator")
    device = internal_headers(company_id, "device")
    c = metering_client
    assert (await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json() == {}
    assert (await c.get("/api/staff/unitData/unitIdList", params=WHERE, headers=op)).json() == []

    first = [document(u, 1000, time="2026-03-29T03:30:00+02:00") for u in ("E003", "E001", "E002")]
    second = [document(u, 2000, rsoc=50.5) for u in ("E002", "E001")]
    r = await ingest(c, device, first + second)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 5, "written": 5, "unchanged": 0}

    latest = await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)
    assert latest.status_code == 200
    assert list(latest.json()) == ["E001", "E002"]  # E003 is not in the newest report; code order
    assert latest.json() == {"E001": second[1], "E002": second[0]}  # stored as sent (network ids included)
    ids = await c.get("/api/staff/unitData/unitIdList", params=WHERE, headers=op)
    assert ids.json() == ["E001", "E002", "E003"]

    # An older report arriving late and a replay change nothing; the time is answered in UTC.
    late = document("E001", 500)
    r = await ingest(c, device, [late, *first])
    assert r.json() == {"received": 4, "written": 1, "unchanged": 3}
    assert (await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json() == latest.json()
    assert (await ingest(c, device, first + second)).json() == {"received": 5, "written": 0, "unchanged": 5}

    rows = await db.fetch(
        "SELECT unit_code, dataset_id, time, rsoc, operation_mode, remaining_capacity_wh, is_grid_master, document "
        "FROM metering.unit_data WHERE company_id = $1 ORDER BY unit_code, dataset_id",
        company_id,
    )
    assert [(r["unit_code"], r["dataset_id"]) for r in rows] == [
        ("E001", 500),
        ("E001", 1000),
        ("E001", 2000),
        ("E002", 1000),
        ("E002", 2000),
        ("E003", 1000),
    ]
    e3 = rows[-1]
    assert e3["time"].isoformat() == "2026-03-29T01:30:00+00:00"
    assert orjson.loads(e3["document"])["time"] == "2026-03-29T01:30:00Z"
    assert (e3["rsoc"], e3["operation_mode"], e3["remaining_capacity_wh"], e3["is_grid_master"]) == (
        46.56,
        "autonomous",
        2234,
        True,
    )

    events = await outbox_events(db, company_id, RECORDED)
    assert len(events) == 6  # one per stored document, none for the replays
    assert {e["topic"] for e in events} == {"metering.unit-data.v1"}
    by_key = {(e["key"], e["data"]["dataset_id"]): e["data"] for e in events}
    data = by_key[(str(units["E002"].id), 2000)]
    assert {k: v for k, v in data.items() if k != "document"} == {
        "unit_id": units["E002"].id,
        "community_code": COMMUNITY,
        "cluster_code": CLUSTER,
        "unit_code": "E002",
        "dataset_id": 2000,
        "time": "2026-03-29T01:30:00Z",
        "rsoc": 50.5,
        "operation_mode": "autonomous",
        "remaining_capacity_wh": 2234.0,
        "is_grid_master": True,
    }
    assert data["document"] == second[0]
    for e in events:  # the data built as JSON is what the declared payload model reads
        UnitDataRecordedV1.model_validate(e["data"])


async def test_dataset_id_zero_and_resident_view(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    await register(metering_app, company_id, ["E001", "E002"], residents={"E001": [501], "E002": [502]})
    device = internal_headers(company_id, "device")
    c = metering_client
    zero = document("E001", 0)
    assert (await ingest(c, device, [zero])).json()["written"] == 1
    op = internal_headers(company_id, "admin")
    assert (await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json() == {"E001": zero}

    # E002 reports later alone: the cluster's newest report holds only E002; E001's resident still sees
    # E001's own newest document, without the network identifiers.
    assert (await ingest(c, device, [document("E002", 7)])).json()["written"] == 1
    assert list((await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json()) == ["E002"]
    resident = internal_headers(company_id, "member", subject="501")
    mine = await c.get("/api/resident/unitData/latestSet", params={**WHERE, "unitId": "E001"}, headers=resident)
    assert mine.status_code == 200
    assert mine.json() == {"E001": without_network(zero)}
    assert not {"ip", "mac", "ipv6_ll", "ipv6_g"} & set(mine.json()["E001"]["oesunit"])

    # E002's resident is not E001's; staff are not residents; a unit without data answers {}.
    other = await c.get(
        "/api/resident/unitData/latestSet",
        params={**WHERE, "unitId": "E001"},
        headers=internal_headers(company_id, "member", subject="502"),
    )
    assert (other.status_code, detail(other)) == (403, "not a resident")
    staff = await c.get("/api/resident/unitData/latestSet", params={**WHERE, "unitId": "E001"}, headers=op)
    assert (staff.status_code, detail(staff)) == (403, "not a resident")
    await register(metering_app, company_id, ["E009"], cluster="quiet", residents={"E009": [501]})
    empty = await c.get(
        "/api/resident/unitData/latestSet",
        params={"communityId": COMMUNITY, "clusterId": "quiet", "unitId": "E009"},
        headers=resident,
    )
    assert (empty.status_code, empty.json()) == (200, {})


async def test_guards(metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    await register(metering_app, company_id, ["E001"], residents={"E001": [601]})
    c = metering_client
    op = internal_headers(company_id, "operator")
    member = internal_headers(company_id, "member", subject="601")
    for path in ("/api/staff/unitData/latestSet", "/api/staff/unitData/unitIdList"):
        r = await c.get(path, params={"communityId": COMMUNITY}, headers=op)
        assert (r.status_code, detail(r)) == (400, "no param : communityId, clusterId")
        r = await c.get(path, params={"communityId": COMMUNITY, "clusterId": ""}, headers=op)
        assert (r.status_code, detail(r)) == (400, "no param : communityId, clusterId")
        r = await c.get(path, params={"communityId": COMMUNITY, "clusterId": "nope"}, headers=op)
        assert (r.status_code, detail(r)) == (400, "bad param values : communityId, clusterId")
        r = await c.get(path, params=WHERE, headers=member)
        assert (r.status_code, detail(r)) == (403, "staff required")
    path = "/api/resident/unitData/latestSet"
    r = await c.get(path, params=WHERE, headers=member)
    assert (r.status_code, detail(r)) == (400, "no param : communityId, clusterId, unitId")
    r = await c.get(path, params={**WHERE, "unitId": "E404"}, headers=member)
    assert (r.status_code, detail(r)) == (400, "bad param values : communityId, clusterId, unitId")
    r = await c.post(path, params={**WHERE, "unitId": "E001"}, headers=member)
    assert r.status_code == 405


async def test_tenant_isolation(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    other = company_id + 700_000
    await register(metering_app, company_id, ["E001"], residents={"E001": [701]})
    await register(metering_app, other, ["E001"], residents={"E001": [701]})  # the same codes elsewhere
    c = metering_client
    doc = document("E001", 42)
    assert (await ingest(c, internal_headers(company_id, "device"), [doc])).json()["written"] == 1
    for who in (internal_headers(other, "admin"),):
        assert (await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=who)).json() == {}
        assert (await c.get("/api/staff/unitData/unitIdList", params=WHERE, headers=who)).json() == []
    theirs = internal_headers(other, "member", subject="701")
    r = await c.get("/api/resident/unitData/latestSet", params={**WHERE, "unitId": "E001"}, headers=theirs)
    assert r.json() == {}
    # A company without these codes does not learn they exist elsewhere.
    stranger = company_id + 800_000
    r = await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=internal_headers(stranger, "admin"))
    assert (r.status_code, detail(r)) == (400, "bad param values : communityId, clusterId")
    r = await ingest(c, internal_headers(stranger, "device"), [doc])
    assert r.status_code == 422 and detail(r)[0]["msg"] == "unknown unit"


async def test_refusals_are_all_or_nothing(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    await register(metering_app, company_id, ["E001", "E002"], retired=["E002"])
    device = internal_headers(company_id, "device")
    c = metering_client
    good = document("E001", 1)
    deep: Any = "x"
    for _ in range(20):
        deep = {"a": deep}
    bad = {
        "unknown unit": document("E404", 1),
        "retired": document("E002", 1),
        "offsetless": document("E001", 2, time="2026-03-29T01:30:00"),
        "negative id": document("E001", -1),
        "no id": {k: v for k, v in document("E001", 3).items() if k != "datasetId"},
        "no unit": {k: v for k, v in document("E001", 4).items() if k != "oesunit"},
        "nul": document("E001", 5) | {"emu": {"note": "a\u0000b"}},
        "deep": document("E001", 6) | {"emu": deep},
        "big": document("E001", 7) | {"emu": {"blob": "x" * 70_000}},
        "empty code": document("", 8),
    }
    for name, doc in bad.items():
        r = await ingest(c, device, [good, doc])
        assert r.status_code == 422, (name, r.text)
        assert {tuple(e["loc"][:3]) for e in detail(r)} == {("body", "unit_data", 1)}, (name, detail(r))
    r = await ingest(c, device, [bad["unknown unit"], good, bad["retired"]])
    assert [(e["loc"], e["msg"]) for e in detail(r)] == [
        (["body", "unit_data", 0, "oesunit"], "unknown unit"),
        (["body", "unit_data", 2, "oesunit"], "the unit is retired: it takes no data"),
    ]
    for body, ctype in [
        (b"{not json", "application/json"),
        (b'{"unit_data": [{"datasetId": NaN}]}', "application/json"),
        (b'{"unit_data": []}', "application/json"),
        (b'{"unit_data": [], "extra": 1}', "application/json"),
        (b"[]", "application/json"),
    ]:
        r = await c.post("/api/ingest/unit-data", content=body, headers={**device, "content-type": ctype})
        assert r.status_code == 422, (body, r.text)
    r = await c.post("/api/ingest/unit-data", content=b"a,b", headers={**device, "content-type": "text/csv"})
    assert r.status_code == 415
    r = await ingest(c, internal_headers(company_id, "member"), [good])
    assert r.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM metering.unit_data WHERE company_id = $1", company_id) == 0
    # the first of two documents with the same unit and datasetId wins
    r = await ingest(c, device, [good, document("E001", 1, rsoc=1.0)])
    assert r.json() == {"received": 2, "written": 1, "unchanged": 1}
    op = internal_headers(company_id, "operator")
    assert (await c.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json() == {"E001": good}


_clusters = itertools.count(1)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    batches=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["E1", "E2", "E3", "E4"]), st.integers(0, 5), st.integers(0, 3)), max_size=8
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_latest_set_matches_a_reference(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int, batches: Any
) -> None:
    """Random batches of (unit, datasetId, variant): the cluster's latest set is the documents with the
    highest datasetId ever sent to the cluster, each the first sent for its (unit, datasetId)."""
    cluster = f"k{next(_clusters)}"
    await register(metering_app, company_id, ["E1", "E2", "E3", "E4"], cluster=cluster)
    device = internal_headers(company_id, "device")
    first: dict[tuple[str, int], dict[str, Any]] = {}
    for batch in batches:
        docs = [document(u, d, cluster=cluster, rsoc=float(v)) for u, d, v in batch]
        if not docs:
            continue
        r = await ingest(metering_client, device, docs)
        assert r.status_code == 200, r.text
        fresh = 0
        for u, d, v in batch:
            if (u, d) not in first:
                first[(u, d)] = document(u, d, cluster=cluster, rsoc=float(v))
                fresh += 1
        assert r.json()["written"] == fresh
    where = {"communityId": COMMUNITY, "clusterId": cluster}
    op = internal_headers(company_id, "operator")
    got = (await metering_client.get("/api/staff/unitData/latestSet", params=where, headers=op)).json()
    top = max((d for _, d in first), default=None)
    assert got == {u: doc for (u, d), doc in sorted(first.items()) if d == top}
    ids = (await metering_client.get("/api/staff/unitData/unitIdList", params=where, headers=op)).json()
    assert ids == sorted({u for u, _ in first})
