# ruff: noqa: F811  (the fixtures imported from scenario_helpers are test parameters)
"""Scenarios through community-service's API with the gateway's identity header: the staff API, the
resident endpoints and the device doors of seed 004, tenant isolation, the choice event."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import httpx
from scenario_helpers import (
    link_resident,
    make_registry,
    new_user_id,
    outbox_events,
    retire_record,
    scenario_app,  # noqa: F401
    scenario_client,  # noqa: F401
)

from community_service.scenarios.events import CHOSEN, TOPIC
from community_service.scenarios.examples import HIGH_PRIORITY, LOW_PRIORITY, LOW_PRIORITY_AS_SERVED
from gridcommons.testing.plugin import Stack

BASE = "/api/community/scenarios"
RESIDENT = "/api/resident/scenario"
DEVICE = "/api/misc/scenario"
LAYOUT = {"c1": {"k1": ["E001", "E002"], "k2": ["E003"]}, "c2": {"k1": ["F001"]}}
ITEM_KEYS = ["id", "community_id", "cluster_id", "unit_id", "created", "name", "description", "data"]


class World:
    def __init__(self, client: httpx.AsyncClient, internal_headers: Any, company_id: int, units: dict[str, Any]):
        self.client = client
        self.company = company_id
        self.units = units
        self.staff = internal_headers(company_id, "operator")
        self.residents = {code: new_user_id() for code in units}
        self.headers = {
            code: internal_headers(company_id, "member", subject=str(uid)) for code, uid in self.residents.items()
        }

    async def create(self, name: str, data: str = HIGH_PRIORITY, **scope: str) -> dict[str, Any]:
        r = await self.client.post(BASE, json={"name": name, "data": data, **scope}, headers=self.staff)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def available(self, code: str) -> list[dict[str, Any]]:
        r = await self.client.get(
            f"{RESIDENT}/availableList", params=self.units[code].params, headers=self.headers[code]
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    async def choose(self, code: str, scenario_id: object = None, method: str = "POST") -> httpx.Response:
        params = dict(self.units[code].params)
        if scenario_id is not None:
            params["scenarioId"] = str(scenario_id)
        return await self.client.request(method, f"{RESIDENT}/choose", params=params, headers=self.headers[code])

    async def current_data(self, code: str, **extra: str) -> httpx.Response:
        return await self.client.post(
            f"{DEVICE}/currentData", data={**self.units[code].params, **extra}, headers=self.headers[code]
        )


async def world(stack: Stack, client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> World:
    """LAYOUT in ``company_id``, one resident linked to each unit."""
    w = World(client, internal_headers, company_id, await make_registry(stack, company_id, LAYOUT))
    for code, user_id in w.residents.items():
        await link_resident(stack, company_id, w.units[code].unit_id, user_id)
    return w


# ----------------------------------------------------------------------------- staff API
async def test_create_in_each_scope_and_read_back_verbatim(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    everyone = await w.create("HIGH_PRIORITY", description="Low rsoc, High priority")
    assert list(everyone)[:8] == ITEM_KEYS
    assert (everyone["community_id"], everyone["cluster_id"], everyone["unit_id"]) == (None, None, None)
    assert everyone["data"] == HIGH_PRIORITY and everyone["description"] == "Low rsoc, High priority"
    assert everyone["retired_at"] is None
    community = await w.create("C", LOW_PRIORITY, communityId="c1")
    cluster = await w.create("K", LOW_PRIORITY_AS_SERVED, communityId="c1", clusterId="k1")
    unit = await w.create("U", communityId="c1", clusterId="k1", unitId="E001")
    assert (unit["community_id"], unit["cluster_id"], unit["unit_id"]) == ("c1", "k1", "E001")
    assert (cluster["community_id"], cluster["cluster_id"], cluster["unit_id"]) == ("c1", "k1", None)
    assert community["community_id"] == "c1" and community["cluster_id"] is None
    got = await scenario_client.get(f"{BASE}/{cluster['id']}", headers=w.staff)
    assert got.status_code == 200 and got.json() == cluster and got.json()["data"] == LOW_PRIORITY_AS_SERVED

    listed = await scenario_client.get(BASE, headers=w.staff)
    assert [s["name"] for s in listed.json()["scenarios"]] == ["C", "HIGH_PRIORITY", "K", "U"]
    narrowed = await scenario_client.get(BASE, params={"communityId": "c1", "clusterId": "k1"}, headers=w.staff)
    assert [s["name"] for s in narrowed.json()["scenarios"]] == ["K", "U"]
    paged = await scenario_client.get(BASE, params={"limit": 1, "offset": 1}, headers=w.staff)
    assert [s["name"] for s in paged.json()["scenarios"]] == ["HIGH_PRIORITY"]


async def test_scope_patterns_codes_and_names(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    for scope, field in (
        ({"clusterId": "k1"}, "clusterId"),
        ({"unitId": "E001"}, "unitId"),
        ({"communityId": "c1", "unitId": "E001"}, "unitId"),
        ({"clusterId": "k1", "unitId": "E001"}, "unitId"),
        ({"communityId": "nope"}, "communityId"),
        ({"communityId": "c1", "clusterId": "k9"}, "clusterId"),
        ({"communityId": "c2", "clusterId": "k1", "unitId": "E001"}, "unitId"),  # E001 is in c1
    ):
        r = await c.post(BASE, json={"name": "x", "data": HIGH_PRIORITY, **scope}, headers=w.staff)
        assert r.status_code == 422, (scope, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field], (scope, r.text)
    # names are unique per scope, the global scope included (NULLs are not distinct)
    await w.create("SAME")
    r = await c.post(BASE, json={"name": "SAME", "data": HIGH_PRIORITY}, headers=w.staff)
    assert r.status_code == 409
    await w.create("SAME", communityId="c1")  # another scope: fine
    r = await c.post(BASE, json={"name": "SAME", "data": HIGH_PRIORITY, "communityId": "c1"}, headers=w.staff)
    assert r.status_code == 409
    # retired records take no new scenarios
    await retire_record(stack, "units", w.units["E003"].unit_id)
    r = await c.post(
        BASE,
        json={"name": "R", "data": HIGH_PRIORITY, "communityId": "c1", "clusterId": "k2", "unitId": "E003"},
        headers=w.staff,
    )
    assert r.status_code == 422 and "retired" in r.json()["detail"][0]["msg"]
    # nothing was stored by the refusals
    listed = await c.get(BASE, headers=w.staff)
    assert sorted(s["name"] for s in listed.json()["scenarios"]) == ["SAME", "SAME"]


async def test_invalid_documents_are_422_with_the_reason(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    broken = HIGH_PRIORITY.replace('"strategy": "pointAndAmount"', '"strategy": "cheapest"')
    r = await scenario_client.post(BASE, json={"name": "B", "data": broken}, headers=w.staff)
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "data", "acceptSelection", "strategy"]
    assert item["msg"] == "$.acceptSelection.strategy: must be one of amount, pointAndAmount"
    for bad in ({"name": "", "data": HIGH_PRIORITY}, {"name": "x"}, {"name": "x", "data": HIGH_PRIORITY, "extra": 1}):
        assert (await scenario_client.post(BASE, json=bad, headers=w.staff)).status_code == 422
    created = await w.create("OK")
    r = await scenario_client.patch(f"{BASE}/{created['id']}", json={"data": "{}"}, headers=w.staff)
    assert r.status_code == 422 and "no time window" in r.json()["detail"][0]["msg"]
    assert (await scenario_client.get(f"{BASE}/{created['id']}", headers=w.staff)).json()["data"] == HIGH_PRIORITY


async def test_patch_and_retire(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    a = await w.create("A")
    b = await w.create("B")
    r = await c.patch(f"{BASE}/{a['id']}", json={"name": "B"}, headers=w.staff)
    assert r.status_code == 409
    same = await c.patch(f"{BASE}/{a['id']}", json={"name": "A"}, headers=w.staff)
    assert same.status_code == 200 and same.json()["updated_at"] == a["updated_at"]  # nothing changed
    r = await c.patch(
        f"{BASE}/{a['id']}", json={"name": "A2", "description": "new", "data": LOW_PRIORITY}, headers=w.staff
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["description"], r.json()["data"]) == ("A2", "new", LOW_PRIORITY)
    assert datetime.fromisoformat(r.json()["updated_at"]) >= datetime.fromisoformat(a["updated_at"])
    assert (await c.patch(f"{BASE}/{a['id']}", json={"name": None}, headers=w.staff)).status_code == 422

    retired = await c.post(f"{BASE}/{b['id']}/retire", headers=w.staff)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    again = await c.post(f"{BASE}/{b['id']}/retire", headers=w.staff)
    assert again.json()["retired_at"] == retired.json()["retired_at"]  # idempotent
    assert [s["name"] for s in (await c.get(BASE, headers=w.staff)).json()["scenarios"]] == ["A2"]
    listed = await c.get(BASE, params={"include_retired": True}, headers=w.staff)
    assert [s["name"] for s in listed.json()["scenarios"]] == ["A2", "B"]
    assert [s["name"] for s in await w.available("E001")] == ["A2"]
    for path in (f"{BASE}/999999999", f"{BASE}/999999999/retire"):
        assert (await c.request("GET" if path.endswith("9") else "POST", path, headers=w.staff)).status_code == 404


async def test_roles_and_tenant_isolation_of_the_staff_api(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    s = await w.create("MINE", communityId="c1")
    member = w.headers["E001"]
    assert (await c.get(BASE, headers=member)).status_code == 403
    assert (await c.post(BASE, json={"name": "x", "data": HIGH_PRIORITY}, headers=member)).status_code == 403
    assert (await c.get(BASE)).status_code == 401
    admin = internal_headers(company_id, "admin")
    assert (await c.get(f"{BASE}/{s['id']}", headers=admin)).status_code == 200

    other = internal_headers(company_id + 500_000, "admin")
    assert (await c.get(f"{BASE}/{s['id']}", headers=other)).status_code == 404
    assert (await c.patch(f"{BASE}/{s['id']}", json={"name": "theirs"}, headers=other)).status_code == 404
    assert (await c.post(f"{BASE}/{s['id']}/retire", headers=other)).status_code == 404
    assert (await c.get(BASE, headers=other)).json()["scenarios"] == []
    # the other company cannot scope a scenario to this company's community
    r = await c.post(BASE, json={"name": "x", "data": HIGH_PRIORITY, "communityId": "c1"}, headers=other)
    assert r.status_code == 422
    r = await c.get("/api/community/scenario-choices", params=w.units["E001"].params, headers=other)
    assert r.status_code == 404
    assert (await c.get(f"{BASE}/{s['id']}", headers=w.staff)).json()["name"] == "MINE"


# ----------------------------------------------------------------------------- residents
async def test_available_current_choose(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    g = await w.create("HIGH_PRIORITY", description="Low rsoc, High priority")
    low = await w.create("LOW_PRIORITY", LOW_PRIORITY, communityId="c1", clusterId="k1")
    mine = await w.create("JUST_FOR_E002", communityId="c1", clusterId="k1", unitId="E002")
    await w.create("ELSEWHERE", communityId="c2")

    items = await w.available("E002")
    assert [i["name"] for i in items] == ["HIGH_PRIORITY", "JUST_FOR_E002", "LOW_PRIORITY"]
    first = items[0]
    assert list(first) == ITEM_KEYS
    assert first == {k: g[k] for k in ITEM_KEYS}
    assert isinstance(first["data"], str) and json.loads(first["data"])["refreshingPeriodMsec"] == 30000
    assert [i["name"] for i in await w.available("E001")] == ["HIGH_PRIORITY", "LOW_PRIORITY"]

    params = w.units["E002"].params
    current = await c.get(f"{RESIDENT}/current", params=params, headers=w.headers["E002"])
    assert current.status_code == 200 and current.json() is None
    assert (await w.choose("E002")).text == "no change"  # nothing to un-select
    r = await w.choose("E002", low["id"])
    assert r.status_code == 200 and r.text == "ok" and r.headers["content-type"].startswith("text/plain")
    assert (await w.choose("E002", low["id"], "GET")).text == "no change"
    current = await c.get(f"{RESIDENT}/current", params=params, headers=w.headers["E002"])
    assert current.json() == {k: low[k] for k in ITEM_KEYS}
    assert (await w.choose("E002", mine["id"], "GET")).text == "ok"  # the GET of existing clients
    # not available to this unit (another unit's, unknown, malformed): 400 with the value
    for bad in ("abc", "-1", "1.0", "²", str(2**63), str(mine["id"] + 10_000)):
        r = await w.choose("E002", bad)
        assert r.status_code == 400 and r.json() == {"detail": f"bad scenarioId : {bad}"}, bad
    r = await w.choose("E001", mine["id"])
    assert r.status_code == 400 and r.json() == {"detail": f"bad scenarioId : {mine['id']}"}
    # retired: no longer available, but a unit running it keeps it
    await c.post(f"{BASE}/{mine['id']}/retire", headers=w.staff)
    assert "JUST_FOR_E002" not in [i["name"] for i in await w.available("E002")]
    current = await c.get(f"{RESIDENT}/current", params=params, headers=w.headers["E002"])
    assert current.json()["id"] == mine["id"]
    assert (await w.choose("E002", mine["id"])).text == "no change"
    assert (await w.choose("E002", low["id"])).status_code == 200
    assert (await w.choose("E002", mine["id"])).status_code == 400
    # un-select
    assert (await w.choose("E002", "")).text == "ok"
    assert (await c.get(f"{RESIDENT}/current", params=params, headers=w.headers["E002"])).json() is None

    history = await c.get("/api/community/scenario-choices", params=params, headers=w.staff)
    assert history.status_code == 200
    rows = history.json()["choices"]
    assert [(h["scenario_id"], h["scenario_name"]) for h in rows] == [
        (None, None),
        (low["id"], "LOW_PRIORITY"),
        (mine["id"], "JUST_FOR_E002"),
        (low["id"], "LOW_PRIORITY"),
    ]
    assert {h["chosen_by"] for h in rows} == {w.residents["E002"]}
    assert (await c.get("/api/community/scenario-choices", params=params, headers=w.headers["E002"])).status_code == 403

    events = await outbox_events(stack, company_id, CHOSEN)
    assert [e["topic"] for e in events] == [TOPIC] * 4
    unit = w.units["E002"]
    assert {e["key"] for e in events} == {str(unit.unit_id)}
    data = events[0]["data"]
    assert data == {
        "company_id": company_id,
        "community_id": unit.community_id,
        "community_code": "c1",
        "cluster_id": unit.cluster_id,
        "cluster_code": "k1",
        "unit_id": unit.unit_id,
        "unit_code": "E002",
        "scenario_id": low["id"],
        "chosen_by": w.residents["E002"],
        "chosen_at": rows[-1]["chosen_at"],
    }
    assert events[-1]["data"]["scenario_id"] is None


async def test_resident_guard_and_isolation(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    g = await w.create("G")
    e1 = w.headers["E001"]
    for path in ("availableList", "current", "choose"):
        r = await c.get(f"{RESIDENT}/{path}", params={"communityId": "c1", "clusterId": "k1"}, headers=e1)
        assert r.status_code == 400 and r.json() == {"detail": "no param : communityId, clusterId, unitId"}
        r = await c.get(f"{RESIDENT}/{path}", params={**w.units["E001"].params, "unitId": "E404"}, headers=e1)
        assert r.status_code == 400 and r.json() == {"detail": "bad param values : communityId, clusterId, unitId"}
        r = await c.get(f"{RESIDENT}/{path}", params=w.units["E002"].params, headers=e1)  # not my unit
        assert r.status_code == 403 and r.json() == {"detail": "not a resident"}
        r = await c.get(f"{RESIDENT}/{path}", params=w.units["E001"].params, headers=w.staff)  # staff is not resident
        assert r.status_code == 403

    # another company: same codes, its own residents; neither sees nor chooses the other's scenarios
    other_company = company_id + 500_000
    other = await world(stack, scenario_client, internal_headers, other_company)
    theirs = await other.create("THEIRS")
    assert [i["name"] for i in await other.available("E001")] == ["THEIRS"]
    assert [i["name"] for i in await w.available("E001")] == ["G"]
    r = await w.choose("E001", theirs["id"])
    assert r.status_code == 400
    # this company's resident acting in the other company: the unit of the same codes there is not theirs
    as_other = internal_headers(other_company, "member", subject=str(w.residents["E001"]))
    r = await c.get(f"{RESIDENT}/availableList", params=w.units["E001"].params, headers=as_other)
    assert r.status_code == 403
    r = await c.get(
        f"{RESIDENT}/availableList",
        params=w.units["E001"].params,
        headers=internal_headers(company_id + 900_000, "member", subject=str(w.residents["E001"])),
    )
    assert r.status_code == 400  # no such unit in that company
    assert (await w.choose("E001", g["id"])).text == "ok"
    assert (await other.current_data("E001")).content == b""


# ----------------------------------------------------------------------------- devices
async def test_device_current_data_and_update(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    c = scenario_client
    r = await w.current_data("E001", isMD5Password="true")
    assert r.status_code == 200 and r.content == b""  # nothing chosen: the device runs its own file
    s = await w.create("LOW_PRIORITY", LOW_PRIORITY_AS_SERVED)
    assert (await w.choose("E001", s["id"])).text == "ok"
    r = await w.current_data("E001", isMD5Password="true")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == LOW_PRIORITY_AS_SERVED.encode()

    form = {**w.units["E001"].params, "name": "OWN", "description": "mine", "data": HIGH_PRIORITY}
    r = await c.post(f"{DEVICE}/update", data=form, headers=w.headers["E001"])
    assert r.status_code == 200 and r.text == "created"
    own = [i for i in await w.available("E001") if i["name"] == "OWN"]
    assert len(own) == 1 and (own[0]["unit_id"], own[0]["description"], own[0]["data"]) == (
        "E001",
        "mine",
        HIGH_PRIORITY,
    )
    assert "OWN" not in [i["name"] for i in await w.available("E002")]
    r = await c.post(
        f"{DEVICE}/update", data={**form, "data": LOW_PRIORITY, "description": ""}, headers=w.headers["E001"]
    )
    assert r.status_code == 200 and r.text == "updated"
    # the choice did not change
    assert (await w.current_data("E001")).content == LOW_PRIORITY_AS_SERVED.encode()
    got = (await c.get(f"{BASE}/{own[0]['id']}", headers=w.staff)).json()
    # an empty field counts as absent (as for name and data): the description is kept
    assert (got["data"], got["description"]) == (LOW_PRIORITY, "mine")
    await c.post(f"{DEVICE}/update", data={**form, "description": "new"}, headers=w.headers["E001"])
    assert (await c.get(f"{BASE}/{own[0]['id']}", headers=w.staff)).json()["description"] == "new"

    for missing in ("name", "data"):
        r = await c.post(f"{DEVICE}/update", data={**form, missing: ""}, headers=w.headers["E001"])
        assert r.status_code == 400 and r.json() == {"detail": "no param : name, data"}
    r = await c.post(f"{DEVICE}/update", data={**form, "data": "senario1"}, headers=w.headers["E001"])
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"][0]["msg"]
    r = await c.post(f"{DEVICE}/update", data={**form, "data": "{}"}, headers=w.headers["E001"])
    assert r.status_code == 422
    # guard: the same answers as the resident endpoints
    r = await c.post(f"{DEVICE}/currentData", data={"communityId": "c1"}, headers=w.headers["E001"])
    assert r.status_code == 400 and r.json() == {"detail": "no param : communityId, clusterId, unitId"}
    r = await c.post(f"{DEVICE}/currentData", data=w.units["E002"].params, headers=w.headers["E001"])
    assert r.status_code == 403 and r.json() == {"detail": "not a resident"}
    r = await c.post(f"{DEVICE}/update", data={**form, "unitId": "E002"}, headers=w.headers["E001"])
    assert r.status_code == 403
    assert (await c.post(f"{DEVICE}/currentData", data=w.units["E001"].params)).status_code == 401
    # only the protocol's fields: a mistyped one is named
    r = await c.post(
        f"{DEVICE}/currentData", data={**w.units["E001"].params, "unitID": "E001"}, headers=w.headers["E001"]
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unitID"]


async def test_device_update_revives_a_retired_own_scenario(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    s = await w.create("OWN", communityId="c1", clusterId="k1", unitId="E001")
    await scenario_client.post(f"{BASE}/{s['id']}/retire", headers=w.staff)
    assert await w.available("E001") == []
    form = {**w.units["E001"].params, "name": "OWN", "data": LOW_PRIORITY}
    r = await scenario_client.post(f"{DEVICE}/update", data=form, headers=w.headers["E001"])
    assert r.text == "updated"
    assert [(i["id"], i["data"]) for i in await w.available("E001")] == [(s["id"], LOW_PRIORITY)]


async def test_concurrent_choices_of_one_unit_are_serialised(
    stack: Stack, scenario_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    w = await world(stack, scenario_client, internal_headers, company_id)
    s = await w.create("S")
    answers = await asyncio.gather(*(w.choose("E001", s["id"]) for _ in range(8)))
    assert sorted(r.text for r in answers) == ["no change"] * 7 + ["ok"]
    assert len(await outbox_events(stack, company_id, CHOSEN)) == 1
