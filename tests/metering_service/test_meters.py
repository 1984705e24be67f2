"""Seed 001's meter registry: every endpoint with its shape and rules, bad input, roles and tenant isolation."""

from __future__ import annotations

import asyncpg
import httpx
from meters_helpers import add_member, create_host, create_location, create_model, user_headers


async def test_seed_001_flow(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    c = metering_client
    admin = internal_headers(company_id, "admin")
    user_id = await add_member(db, company_id)
    me = user_headers(internal_headers, company_id, user_id)
    # a meter model, its measurements and registers
    r = await c.post("/admin/meters", json={"name": "sdm330", "type": 2}, headers=admin)
    assert r.status_code == 201 and r.json() == {"id": r.json()["id"], "name": "sdm330", "type": 2}
    meter = r.json()["id"]
    assert (await c.post("/admin/meters", json={"name": "sdm330", "type": 1}, headers=admin)).status_code == 409
    r = await c.post("/admin/measurements", json={"measurement": "current", "type": 1}, headers=admin)
    assert r.status_code == 201 and r.json() == {"measurement": "current", "type": 1}
    assert (
        await c.post("/admin/measurements", json={"measurement": "energy", "type": 2}, headers=admin)
    ).status_code == 201
    reg = {"address": 12, "measurement": "current", "unit": "A", "type": 1, "function_code": 3, "meter": meter}
    r = await c.post("/admin/registers", json=reg, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json() == {**reg, "id": r.json()["id"], "word_order": "msw_first"}
    assert (
        await c.post("/admin/registers", json=reg, headers=admin)
    ).status_code == 409  # one per (meter, measurement)
    energy = {**reg, "measurement": "energy", "unit": "kWh", "type": 3, "function_code": 4, "word_order": "lsw_first"}
    r = await c.post("/admin/registers", json=energy, headers=admin)
    assert r.status_code == 201 and r.json()["word_order"] == "lsw_first"
    assert [x["measurement"] for x in (await c.get("/admin/registers", headers=admin)).json()] == ["current", "energy"]
    assert (await c.get("/admin/measurements", headers=admin)).json() == [
        {"measurement": "current", "type": 1},
        {"measurement": "energy", "type": 2},
    ]
    # user views of the models
    assert (await c.get("/meters", headers=me)).json() == [{"id": meter, "name": "sdm330", "type": 2}]
    assert (await c.get(f"/meters/{meter}/measurements", headers=me)).json() == [
        {"measurement": "current", "type": 1},
        {"measurement": "energy", "type": 2},
    ]
    # the user's location (user = the caller)
    loc = {"user": user_id, "street": "SunnyStreet", "number": "68", "city": "SilliconCity", "zip_code": "11-420"}
    r = await c.post("/user/locations", json=loc, headers=me)
    assert r.status_code == 201, r.text
    assert r.json() == {**loc, "id": r.json()["id"], "coord_x": None, "coord_y": None}
    location = r.json()["id"]
    assert (await c.post("/user/locations", json=loc, headers=me)).status_code == 409  # (street, number, city)
    assert (await c.get("/user/locations", headers=me)).json() == [r.json()]
    assert (await c.get(f"/user/locations/{location}", headers=me)).json() == r.json()
    assert (await c.get(f"/admin/locations/{location}", headers=admin)).json() == r.json()
    # the admin adds the user's host
    host = await create_host(c, admin, user=user_id, location=location, meter=meter, port=2282)
    assert {k: host[k] for k in ("ip", "port", "slave_address", "user", "location", "meter")} == {
        "ip": "127.0.0.1", "port": 2282, "slave_address": 1, "user": user_id, "location": location, "meter": meter
    }  # fmt: skip
    assert host["status"] == "pending" and host["poll_interval_seconds"] == 60
    assert (await c.get("/user/hosts", headers=me)).json() == [host]
    assert (await c.get("/admin/hosts", headers=admin)).json() == [host]
    # assign measurements: each is a series
    r = await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": ["current", "energy"]}, headers=me)
    assert r.status_code == 201, r.text
    assigned = r.json()
    assert [(a["host"], a["measurement"]) for a in assigned] == [(host["id"], "current"), (host["id"], "energy")]
    ops = internal_headers(company_id, "operator")
    s = (await c.get(f"/api/metering/series/{assigned[1]['series_id']}", headers=ops)).json()
    assert s["external_key"] == f"host:{host['id']}/measurement:energy" and s["kind"] == "cumulative"
    assert s["unit"] == "kWh"
    again = await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": ["energy"]}, headers=me)
    assert again.status_code == 201 and again.json() == [assigned[1]]  # idempotent
    assert (await c.get(f"/user/hosts/{host['id']}/measurements", headers=me)).json() == assigned
    # unassign: the series is retired, the rest stays
    r = await c.delete(f"/user/hosts/{host['id']}/measurements", params={"measurement": "current"}, headers=me)
    assert r.status_code == 200 and r.json() == [assigned[1]]
    s = (await c.get(f"/api/metering/series/{assigned[0]['series_id']}", headers=ops)).json()
    assert s["retired_at"] is not None
    # reassigning makes a new series (the key was freed)
    r = await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": ["current"]}, headers=me)
    assert r.status_code == 201 and r.json()[0]["series_id"] != assigned[0]["series_id"]


async def test_bad_input(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    c = metering_client
    admin = internal_headers(company_id, "admin")
    user_id = await add_member(db, company_id)
    other_user = await add_member(db, company_id)
    me = user_headers(internal_headers, company_id, user_id)
    meter = await create_model(c, admin, "sdm120")
    location = await create_location(c, admin, user_id)
    other_location = await create_location(c, admin, other_user, number="2")
    loc = {"user": user_id, "street": "S", "number": "1", "city": "C", "zip_code": "11-420"}
    # zip code pattern, unknown fields
    for bad in (
        {**loc, "zip_code": "11420"},
        {**loc, "zip_code": "AB-123"},
        {**loc, "extra": 1},
        {**loc, "street": ""},
    ):
        assert (await c.post("/user/locations", json=bad, headers=me)).status_code == 422
    # user: not the caller / not a member
    assert (await c.post("/user/locations", json={**loc, "user": other_user}, headers=me)).status_code == 403
    assert (await c.post("/admin/locations", json={**loc, "user": 123}, headers=admin)).status_code == 403
    # creating needs CompanyID
    no_company = user_headers(internal_headers, None, user_id)
    assert (await c.post("/user/locations", json=loc, headers=no_company)).status_code == 400
    # registers: data type too long for the address space, address out of range, unknown references, units
    reg = {"address": 65535, "measurement": "voltage_l1", "unit": "V", "type": 3, "function_code": 4, "meter": meter}
    for bad, field in (
        (reg, None),
        ({**reg, "address": 65536, "type": 1}, "address"),
        ({**reg, "address": -1, "type": 1}, "address"),
        ({**reg, "address": 0, "function_code": 16}, "function_code"),
        ({**reg, "address": 0, "type": 4}, "type"),
        ({**reg, "address": 0, "word_order": "middle"}, "word_order"),
        ({**reg, "address": 0, "unit": "furlong"}, "unit"),
    ):
        r = await c.post("/admin/registers", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)
        if field:
            assert any(field in e["loc"] for e in r.json()["detail"]), r.text
    r = await c.post("/admin/registers", json={**reg, "address": 65534}, headers=admin)
    assert r.status_code == 409  # fits, but the meter has that measurement already
    await c.post("/admin/measurements", json={"measurement": "energy_x", "type": 2}, headers=admin)
    r = await c.post(
        "/admin/registers", json={**reg, "address": 0, "measurement": "energy_x", "unit": "W"}, headers=admin
    )
    assert r.status_code == 422 and "counts energy" in r.text
    r = await c.post("/admin/registers", json={**reg, "address": 0, "measurement": "nope"}, headers=admin)
    assert r.status_code == 422 and "unknown measurement" in r.text
    r = await c.post("/admin/registers", json={**reg, "address": 0, "meter": 999_999_999}, headers=admin)
    assert r.status_code == 422 and "unknown meter" in r.text
    # hosts: location of another user, unknown location/meter, duplicate endpoint, bad ip/port/slave
    host = {"ip": "127.0.0.1", "port": 1502, "slave_address": 1, "user": user_id, "location": location, "meter": meter}
    assert (await c.post("/admin/hosts", json=host, headers=admin)).status_code == 201
    r = await c.post("/admin/hosts", json=host, headers=admin)
    assert r.status_code == 409 and "slave address" in r.text
    assert (await c.post("/admin/hosts", json={**host, "slave_address": 2}, headers=admin)).status_code == 201
    for bad, status in (
        ({**host, "port": 1503, "location": other_location}, 422),
        ({**host, "port": 1503, "location": 999_999_999}, 422),
        ({**host, "port": 1503, "meter": 999_999_999}, 422),
        ({**host, "port": 1503, "user": 77}, 403),
        ({**host, "ip": "300.1.1.1"}, 422),
        ({**host, "port": 0}, 422),
        ({**host, "slave_address": 256}, 422),
        ({**host, "poll_interval_seconds": 0}, 422),
    ):
        assert (await c.post("/admin/hosts", json=bad, headers=admin)).status_code == status, bad
    # assignment of a measurement the meter model has no register for
    hid = (await c.get("/user/hosts", headers=me)).json()[0]["id"]
    r = await c.post(f"/user/hosts/{hid}/measurements", json={"measurements": ["voltage_l1", "voltage_l3"]}, headers=me)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "measurements", 1]
    assert (await c.get(f"/user/hosts/{hid}/measurements", headers=me)).json() == []  # nothing changed
    # unknown ids
    for path in ("/user/locations/999999999", "/meters/999999999/measurements", "/user/hosts/999999999/measurements"):
        assert (await c.get(path, headers=me)).status_code == 404
    assert (await c.get("/admin/locations/999999999", headers=admin)).status_code == 404


async def test_roles_and_tenant_isolation(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    c = metering_client
    admin = internal_headers(company_id, "admin")
    user_id = await add_member(db, company_id)
    meter = await create_model(c, admin, "sdm120")
    location = await create_location(c, admin, user_id)
    host = await create_host(c, admin, user=user_id, location=location, meter=meter, port=1600)
    me = user_headers(internal_headers, company_id, user_id)
    await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": ["active_power"]}, headers=me)
    # the admin views are the admin's
    for role in ("operator", "member", "viewer"):
        h = internal_headers(company_id, role)
        for path in ("/admin/locations", "/admin/hosts", "/admin/meters", "/admin/measurements", "/admin/registers"):
            assert (await c.get(path, headers=h)).status_code == 403, (role, path)
    # another member of the same company sees none of this user's things
    other = user_headers(internal_headers, company_id, await add_member(db, company_id))
    assert (await c.get("/user/locations", headers=other)).json() == []
    assert (await c.get("/user/hosts", headers=other)).json() == []
    assert (await c.get(f"/user/locations/{location}", headers=other)).status_code == 404
    assert (await c.get(f"/user/hosts/{host['id']}/measurements", headers=other)).status_code == 404
    r = await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": ["active_power"]}, headers=other)
    assert r.status_code == 404
    # another company: nothing of this one
    foreign_company = company_id + 500_000
    foreign_admin = internal_headers(foreign_company, "admin")
    foreign_user = user_headers(internal_headers, foreign_company, await add_member(db, foreign_company))
    for path in ("/admin/locations", "/admin/hosts", "/admin/meters", "/admin/measurements", "/admin/registers"):
        assert (await c.get(path, headers=foreign_admin)).json() == [], path
    assert (await c.get(f"/admin/locations/{location}", headers=foreign_admin)).status_code == 404
    assert (await c.get("/meters", headers=foreign_user)).json() == []
    assert (await c.get(f"/meters/{meter}/measurements", headers=foreign_user)).status_code == 404
    r = await c.delete(
        f"/user/hosts/{host['id']}/measurements", params={"measurement": "active_power"}, headers=foreign_user
    )
    assert r.status_code == 404
    # the other company's admin cannot hang a host on this company's location or meter
    foreign_member = await add_member(db, foreign_company)
    body = {
        "ip": "127.0.0.1",
        "port": 1601,
        "slave_address": 1,
        "user": foreign_member,
        "location": location,
        "meter": meter,
    }
    assert (await c.post("/admin/hosts", json=body, headers=foreign_admin)).status_code == 422
    # without CompanyID the user sees its things in every company it is a member of (the replica)
    assert [
        h["id"] for h in (await c.get("/user/hosts", headers=user_headers(internal_headers, None, user_id))).json()
    ] == [host["id"]]
    await db.execute("DELETE FROM metering.memberships WHERE member = $1", str(user_id))
    assert (await c.get("/user/hosts", headers=user_headers(internal_headers, None, user_id))).json() == []
    # a machine client has no user views
    assert (await c.get("/user/hosts", headers=internal_headers(company_id, "device"))).status_code == 403
