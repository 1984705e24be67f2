"""Members read the series linked to their units: links set by admin/operator (validated against the registry
replica), a member's listing, reads of one series, its readings and rollups; nothing else; unlinking (the
series' links or the unit's residents) removes access; tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from metering_helpers import ingest, new_series
from unit_data_helpers import CLUSTER, COMMUNITY, register

from gridcommons.community import UNIT_CHANGED, UnitV1
from gridcommons.events import CloudEvent
from metering_service.db import community_replica


def link(*codes: str, cluster: str = CLUSTER) -> list[dict[str, str]]:
    return [{"community_code": COMMUNITY, "cluster_code": cluster, "unit_code": c} for c in codes]


def ids(listing: httpx.Response) -> list[int]:
    assert listing.status_code == 200, listing.text
    return [s["id"] for s in listing.json()["series"]]


async def set_residents(app: Any, company_id: int, unit: UnitV1, residents: list[int], version: int) -> None:
    """The unit's new state as community-service would publish it (residents linked or unlinked)."""
    data = unit.model_copy(update={"resident_ids": residents, "version": version})
    async with app.state.sessionmaker() as session, session.begin():
        event = CloudEvent(
            source="/services/community-service",
            type=UNIT_CHANGED,
            companyid=str(company_id),
            data=data.model_dump(mode="json"),
        )
        await community_replica.apply_event(session, event)


async def test_members_read_the_series_of_their_units(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    units = await register(metering_app, company_id, ["E001", "E002", "E003"], residents={"E001": [501], "E002": [502]})
    c = metering_client
    op = internal_headers(company_id, "operator")
    a = await new_series(c, op, units=link("E001"))
    b = await new_series(c, op, units=link("E002"))
    unlinked = await new_series(c, op)
    shared = await new_series(c, op, units=link("E002", "E001"))
    assert a["units"] == [
        {
            "community_code": COMMUNITY,
            "cluster_code": CLUSTER,
            "unit_code": "E001",
            "unit_id": units["E001"].id,
            "retired": False,
        }
    ]
    assert [u["unit_code"] for u in shared["units"]] == ["E001", "E002"]  # code order
    assert unlinked["units"] == []
    t0 = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    readings = [{"series_id": a["id"], "time": t0.replace(hour=h).isoformat(), "value": str(h)} for h in range(4)]
    assert (await ingest(c, op, readings)).status_code == 200

    m1 = internal_headers(company_id, "member", subject="501")
    m2 = internal_headers(company_id, "member", subject="502")
    assert ids(await c.get("/api/metering/series", headers=m1)) == [a["id"], shared["id"]]
    assert ids(await c.get("/api/metering/series", headers=m2)) == [b["id"], shared["id"]]
    assert ids(await c.get("/api/metering/series", headers=op)) == [a["id"], b["id"], unlinked["id"], shared["id"]]
    assert ids(await c.get("/api/metering/series", params={"external_key": a["external_key"]}, headers=m2)) == []

    got = await c.get(f"/api/metering/series/{a['id']}", headers=m1)
    assert got.status_code == 200 and got.json() == a
    raw = await c.get(f"/api/metering/series/{a['id']}/readings", headers=m1)
    assert raw.status_code == 200 and [r["value"] for r in raw.json()["readings"]] == ["0", "1", "2", "3"]
    window = {"from": "2026-10-25T00:00:00Z", "to": "2026-10-26T00:00:00Z"}
    for resolution in ("15m", "1h", "1d", "1mo"):
        r = await c.get(
            f"/api/metering/series/{a['id']}/readings", params={**window, "resolution": resolution}, headers=m1
        )
        assert r.status_code == 200, (resolution, r.text)
        staff = await c.get(
            f"/api/metering/series/{a['id']}/readings", params={**window, "resolution": resolution}, headers=op
        )
        assert r.json() == staff.json()

    # another unit's series, an unlinked one, one that does not exist: the same 404
    for sid in (b["id"], unlinked["id"], 2**40):
        for path in (f"/api/metering/series/{sid}", f"/api/metering/series/{sid}/readings"):
            r = await c.get(path, headers=m1)
            assert r.status_code == 404, (path, r.text)
        r = await c.get(f"/api/metering/series/{sid}/readings", params={**window, "resolution": "1h"}, headers=m1)
        assert r.status_code == 404

    # the series of one unit: staff see every one linked to it, a member those of their own units
    def of(unit: str, **extra: str) -> dict[str, str]:
        return {"community_code": COMMUNITY, "cluster_code": CLUSTER, "unit_code": unit, **extra}

    assert ids(await c.get("/api/metering/series", params=of("E001"), headers=op)) == [a["id"], shared["id"]]
    assert ids(await c.get("/api/metering/series", params=of("E002"), headers=op)) == [b["id"], shared["id"]]
    assert ids(await c.get("/api/metering/series", params=of("E003"), headers=op)) == []
    assert ids(await c.get("/api/metering/series", params=of("E404"), headers=op)) == []
    assert ids(await c.get("/api/metering/series", params=of("E002"), headers=m1)) == [shared["id"]]
    for partial in ({"unit_code": "E001"}, {"community_code": COMMUNITY, "cluster_code": CLUSTER}, of("")):
        r = await c.get("/api/metering/series", params=partial, headers=op)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "unit_code"], (partial, r.text)
    # a member linked to no unit, and a machine client
    assert ids(await c.get("/api/metering/series", headers=internal_headers(company_id, "member", subject="9"))) == []
    assert (
        await c.get(f"/api/metering/series/{a['id']}", headers=internal_headers(company_id, "device"))
    ).status_code == 403


async def test_members_only_read(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    await register(metering_app, company_id, ["E001"], residents={"E001": [501]})
    c = metering_client
    op = internal_headers(company_id, "admin")
    mine = await new_series(c, op, units=link("E001"))
    other = await new_series(c, op, kind="instantaneous", unit="kW")
    member = internal_headers(company_id, "member", subject="501")
    sid = mine["id"]
    reading = {"series_id": sid, "time": "2026-03-29T01:00:00Z", "value": "1"}
    balance = {
        "production": [other["id"]],
        "consumption": [sid],
        "from": "2026-03-29T00:00:00+01:00",
        "to": "2026-03-30T00:00:00+02:00",
    }
    for method, path, body in (
        ("POST", "/api/metering/series", {"external_key": "x", "kind": "cumulative", "unit": "kWh"}),
        ("PATCH", f"/api/metering/series/{sid}", {"name": "mine"}),
        ("PATCH", f"/api/metering/series/{sid}", {"units": []}),
        ("POST", f"/api/metering/series/{sid}/actions/retire", None),
        ("POST", "/api/ingest/meter-readings", {"readings": [reading]}),
        ("GET", f"/api/metering/series/{sid}/imports", None),
        ("POST", "/api/metering/energy-balance", balance),
    ):
        r = await c.request(method, path, json=body, headers=member)
        assert r.status_code == 403, (method, path, r.text)
    r = await c.post(f"/api/metering/series/{sid}/import", content=b"time,value\n", headers=member)
    assert r.status_code == 403
    after = await c.get(f"/api/metering/series/{sid}", headers=op)
    assert after.json() == mine  # nothing changed
    assert ids(await c.get("/api/metering/series", params={"external_key": "x"}, headers=op)) == []


async def test_unlinking_removes_access(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    units = await register(metering_app, company_id, ["E001", "E002"], residents={"E001": [501]})
    c = metering_client
    op = internal_headers(company_id, "operator")
    member = internal_headers(company_id, "member", subject="501")
    series = await new_series(c, op, units=link("E001"))
    sid = series["id"]
    assert (await c.get(f"/api/metering/series/{sid}", headers=member)).status_code == 200

    # the series' links replaced: gone from the member's view; omitted units keep the links
    r = await c.patch(f"/api/metering/series/{sid}", json={"units": link("E002")}, headers=op)
    assert r.status_code == 200 and [u["unit_code"] for u in r.json()["units"]] == ["E002"]
    assert r.json()["updated_at"] > series["updated_at"]
    assert (await c.get(f"/api/metering/series/{sid}", headers=member)).status_code == 404
    assert ids(await c.get("/api/metering/series", headers=member)) == []
    r = await c.patch(f"/api/metering/series/{sid}", json={"units": link("E001", "E002", "E001")}, headers=op)
    assert [u["unit_code"] for u in r.json()["units"]] == ["E001", "E002"]  # listed twice: linked once
    assert (await c.get(f"/api/metering/series/{sid}", headers=member)).status_code == 200
    r = await c.patch(f"/api/metering/series/{sid}", json={"name": "kept links"}, headers=op)
    assert [u["unit_code"] for u in r.json()["units"]] == ["E001", "E002"]
    r = await c.patch(f"/api/metering/series/{sid}", json={"units": None}, headers=op)
    assert [u["unit_code"] for u in r.json()["units"]] == ["E001", "E002"]
    r = await c.patch(f"/api/metering/series/{sid}", json={"units": []}, headers=op)
    assert r.json()["units"] == []
    assert (await c.get(f"/api/metering/series/{sid}/readings", headers=member)).status_code == 404
    await c.patch(f"/api/metering/series/{sid}", json={"units": link("E001")}, headers=op)
    assert (await c.get(f"/api/metering/series/{sid}", headers=member)).status_code == 200

    # the member unlinked from the unit in the registry (community-service's event): access ends
    await set_residents(metering_app, company_id, units["E001"], [], version=2)
    assert (await c.get(f"/api/metering/series/{sid}", headers=member)).status_code == 404
    assert ids(await c.get("/api/metering/series", headers=member)) == []
    await set_residents(metering_app, company_id, units["E001"], [501], version=3)
    assert ids(await c.get("/api/metering/series", headers=member)) == [sid]

    # a retired unit keeps its links and its residents read the history
    retired = units["E001"].model_copy(update={"retired_at": datetime(2026, 6, 1, tzinfo=UTC)})
    await set_residents(metering_app, company_id, retired, [501], version=4)
    got = await c.get(f"/api/metering/series/{sid}", headers=member)
    assert got.status_code == 200 and got.json()["units"][0]["retired"] is True


async def test_links_are_validated_and_tenant_scoped(
    metering_app: Any, metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    other = company_id + 600_000
    await register(metering_app, company_id, ["E001"], residents={"E001": [501]})
    await register(metering_app, other, ["E001", "X001"], residents={"E001": [501], "X001": [501]})
    c = metering_client
    op = internal_headers(company_id, "operator")
    body = {"external_key": "m/1", "kind": "cumulative", "unit": "kWh"}
    # unknown codes and another company's unit (X001 exists only there) are named, nothing is created
    r = await c.post(
        "/api/metering/series",
        json={**body, "units": [*link("E001"), *link("X001"), *link("E001", cluster="nope")]},
        headers=op,
    )
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [(e["loc"], e["msg"], e["input"]) for e in errors] == [
        (["body", "units", 1], "unknown unit", f"{COMMUNITY}/{CLUSTER}/X001"),
        (["body", "units", 2], "unknown unit", f"{COMMUNITY}/nope/E001"),
    ]
    assert ids(await c.get("/api/metering/series", headers=op)) == []
    for bad in (
        [{"community_code": COMMUNITY, "cluster_code": CLUSTER}],
        [{"community_code": "", "cluster_code": CLUSTER, "unit_code": "E001"}],
        [{"community_code": COMMUNITY, "cluster_code": CLUSTER, "unit_code": "E001", "unit_id": 1}],
        [{"community_code": COMMUNITY, "cluster_code": CLUSTER, "unit_code": "x" * 65}],
        link("E001") * 101,
        "E001",
    ):
        r = await c.post("/api/metering/series", json={**body, "units": bad}, headers=op)
        assert r.status_code == 422, (bad, r.text)
    series = await new_series(c, op, units=link("E001"))
    r = await c.patch(f"/api/metering/series/{series['id']}", json={"units": link("X001")}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "units", 0]
    assert (await c.get(f"/api/metering/series/{series['id']}", headers=op)).json() == series  # unchanged

    # the same user id and codes in another company: nothing of this one
    theirs = internal_headers(other, "member", subject="501")
    assert ids(await c.get("/api/metering/series", headers=theirs)) == []
    assert (await c.get(f"/api/metering/series/{series['id']}", headers=theirs)).status_code == 404
    assert (await c.get(f"/api/metering/series/{series['id']}/readings", headers=theirs)).status_code == 404
    their_series = await new_series(c, internal_headers(other, "admin"), units=link("E001"))
    mine = internal_headers(company_id, "member", subject="501")
    assert ids(await c.get("/api/metering/series", headers=mine)) == [series["id"]]
    assert (await c.get(f"/api/metering/series/{their_series['id']}", headers=mine)).status_code == 404
