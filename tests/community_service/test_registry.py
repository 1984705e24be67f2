"""The registry's management API (/api/community/communities/...): CRUD, codes, retire semantics,
residents, roles and tenant isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from registry_helpers import BASE, make_registry

UNIT = f"{BASE}/oss/clusters/c1/units"


def op(internal_headers: Any, company_id: int) -> dict[str, str]:
    return dict(internal_headers(company_id, "operator"))


# ----------------------------------------------------------------------------------------------- communities
async def test_community_create_get_list_patch(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = op(internal_headers, company_id)
    r = await community_client.post(BASE, json={"code": "oss_community", "name": "OSS Community"}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "oss_community" and created["name"] == "OSS Community"
    assert created["version"] == 1 and created["retired_at"] is None and isinstance(created["id"], int)
    assert created["created_at"].endswith("Z")

    r = await community_client.get(f"{BASE}/oss_community", headers=h)
    assert r.status_code == 200 and r.json() == created

    for code in ("b.2", "a-1", "Z_9"):
        assert (await community_client.post(BASE, json={"code": code, "name": code}, headers=h)).status_code == 201
    r = await community_client.get(BASE, headers=h)
    assert r.status_code == 200
    body = r.json()
    # Byte-wise code order: upper case before lower case.
    assert [c["code"] for c in body["communities"]] == ["Z_9", "a-1", "b.2", "oss_community"]
    assert (body["limit"], body["offset"]) == (50, 0)
    r = await community_client.get(BASE, params={"limit": 2, "offset": 1}, headers=h)
    assert [c["code"] for c in r.json()["communities"]] == ["a-1", "b.2"]

    r = await community_client.patch(f"{BASE}/oss_community", json={"name": "Renamed"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed" and r.json()["version"] == 2
    # A patch that changes nothing keeps the version.
    r = await community_client.patch(f"{BASE}/oss_community", json={"name": "Renamed"}, headers=h)
    assert r.json()["version"] == 2
    r = await community_client.patch(f"{BASE}/oss_community", json={}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"code": "", "name": "x"},
        {"code": "a" * 65, "name": "x"},
        {"code": "has space", "name": "x"},
        {"code": ".hidden", "name": "x"},
        {"code": "ü", "name": "x"},
        {"code": "a/b", "name": "x"},
        {"code": "ok", "name": ""},
        {"code": "ok", "name": "x" * 256},
        {"code": "ok", "name": "a\x00b"},
        {"code": "ok"},
        {"code": "ok", "name": "x", "extra": 1},
    ],
)
async def test_community_bad_input_is_422(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int, body: dict[str, Any]
) -> None:
    h = op(internal_headers, company_id)
    r = await community_client.post(BASE, json=body, headers=h)
    assert r.status_code == 422, r.text
    assert (await community_client.get(BASE, headers=h)).json()["communities"] == []


async def test_duplicate_codes_are_409_per_parent(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"]}, "two": {"c1": ["E001"]}})
    r = await community_client.post(BASE, json={"code": "oss", "name": "again"}, headers=h)
    assert r.status_code == 409 and "oss already exists" in r.json()["detail"]
    r = await community_client.post(f"{BASE}/oss/clusters", json={"code": "c1", "name": "again"}, headers=h)
    assert r.status_code == 409
    r = await community_client.post(UNIT, json={"code": "E001", "name": "again"}, headers=h)
    assert r.status_code == 409
    # The same codes under another parent are fine (made above), and nothing changed.
    r = await community_client.get(f"{UNIT}/E001", headers=h)
    assert r.json()["name"] == "E001" and r.json()["version"] == 1


async def test_codes_are_immutable(community_client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"]}})
    for path in (f"{BASE}/oss", f"{BASE}/oss/clusters/c1", f"{UNIT}/E001"):
        r = await community_client.patch(path, json={"code": "new"}, headers=h)
        assert r.status_code == 422, r.text
        assert "code cannot be changed" in r.text
        r = await community_client.patch(path, json={"name": None}, headers=h)
        assert r.status_code == 422, r.text


async def test_unknown_codes_are_404(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"]}})
    for method, path in [
        ("GET", f"{BASE}/nope"),
        ("GET", f"{BASE}/nope/clusters"),
        ("GET", f"{BASE}/oss/clusters/nope"),
        ("GET", f"{BASE}/oss/clusters/nope/units"),
        ("GET", f"{UNIT}/nope"),
        ("GET", f"{UNIT}/nope/residents"),
        ("POST", f"{BASE}/nope/retire"),
        ("POST", f"{BASE}/oss/clusters/nope/retire"),
        ("POST", f"{UNIT}/nope/retire"),
        ("DELETE", f"{UNIT}/E001/residents/5"),
    ]:
        r = await community_client.request(method, path, headers=h)
        assert r.status_code == 404, (method, path, r.text)
        assert "detail" in r.json()


# ----------------------------------------------------------------------------------------------- units
async def test_unit_window(community_client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": []}})
    body = {
        "code": "E001",
        "name": "House 1",
        "available_from": "2027-01-01T01:00:00+01:00",
        "available_to": "2028-01-01T00:00:00.250Z",
    }
    r = await community_client.post(UNIT, json=body, headers=h)
    assert r.status_code == 201, r.text
    unit = r.json()
    assert unit["available_from"] == "2027-01-01T00:00:00Z"
    assert unit["available_to"] == "2028-01-01T00:00:00.250000Z"
    assert (unit["community_code"], unit["cluster_code"], unit["resident_ids"]) == ("oss", "c1", [])

    # from >= to refused, on create and on the merged window of a patch; nothing changes.
    bad = {**body, "code": "E002", "available_to": body["available_from"]}
    assert (await community_client.post(UNIT, json=bad, headers=h)).status_code == 422
    r = await community_client.patch(f"{UNIT}/E001", json={"available_to": "2026-12-31T00:00:00Z"}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "available_to"]
    r = await community_client.patch(f"{UNIT}/E001", json={"available_from": "2029-01-01T00:00:00Z"}, headers=h)
    assert r.status_code == 422
    r = await community_client.patch(f"{UNIT}/E001", json={"available_from": "2027-01-01T00:00:00"}, headers=h)
    assert r.status_code == 422  # naive instants are refused
    assert (await community_client.get(f"{UNIT}/E001", headers=h)).json() == unit

    r = await community_client.patch(f"{UNIT}/E001", json={"available_from": None, "name": "H1"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["available_from"] is None and r.json()["name"] == "H1" and r.json()["version"] == 2
    assert r.json()["available_to"] == unit["available_to"]


# ----------------------------------------------------------------------------------------------- retire
async def test_retire_cascades_and_keeps_rows(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001", "E002"], "c2": ["E003"]}, "keep": {"k": ["K1"]}})
    r = await community_client.post(f"{UNIT}/E002/retire", headers=h)
    assert r.status_code == 200 and r.json()["retired_at"] is not None and r.json()["version"] == 2
    retired_unit = r.json()

    r = await community_client.post(f"{BASE}/oss/retire", headers=h)
    assert r.status_code == 200, r.text
    community = r.json()
    assert community["retired_at"] is not None and community["version"] == 2
    # Retiring again changes nothing.
    again = await community_client.post(f"{BASE}/oss/retire", headers=h)
    assert again.status_code == 200 and again.json() == community

    # Everything under it is retired at the same instant, except what was retired before.
    for path in (
        f"{BASE}/oss/clusters/c1",
        f"{BASE}/oss/clusters/c2",
        f"{UNIT}/E001",
        f"{BASE}/oss/clusters/c2/units/E003",
    ):
        got = (await community_client.get(path, headers=h)).json()
        assert got["retired_at"] == community["retired_at"] and got["version"] == 2, path
    assert (await community_client.get(f"{UNIT}/E002", headers=h)).json() == retired_unit

    # Hidden from lists unless include_retired=true; still readable.
    assert [c["code"] for c in (await community_client.get(BASE, headers=h)).json()["communities"]] == ["keep"]
    r = await community_client.get(BASE, params={"include_retired": "true"}, headers=h)
    assert [c["code"] for c in r.json()["communities"]] == ["keep", "oss"]
    assert (await community_client.get(f"{BASE}/oss/clusters", headers=h)).json()["clusters"] == []
    r = await community_client.get(f"{BASE}/oss/clusters", params={"include_retired": True}, headers=h)
    assert [c["code"] for c in r.json()["clusters"]] == ["c1", "c2"]
    r = await community_client.get(UNIT, params={"include_retired": True}, headers=h)
    assert [u["code"] for u in r.json()["units"]] == ["E001", "E002"]

    # No new children, no changes, codes stay taken.
    r = await community_client.post(f"{BASE}/oss/clusters", json={"code": "c3", "name": "x"}, headers=h)
    assert r.status_code == 409 and "retired" in r.json()["detail"]
    assert (await community_client.post(UNIT, json={"code": "E9", "name": "x"}, headers=h)).status_code == 409
    assert (await community_client.patch(f"{BASE}/oss", json={"name": "x"}, headers=h)).status_code == 409
    assert (await community_client.patch(f"{UNIT}/E001", json={"name": "x"}, headers=h)).status_code == 409
    assert (await community_client.post(BASE, json={"code": "oss", "name": "x"}, headers=h)).status_code == 409
    # The other community is untouched.
    assert (await community_client.get(f"{BASE}/keep/clusters/k/units/K1", headers=h)).json()["retired_at"] is None


async def test_retire_cluster(community_client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"], "c2": ["E002"]}})
    r = await community_client.post(f"{BASE}/oss/clusters/c1/retire", headers=h)
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    assert (await community_client.get(f"{UNIT}/E001", headers=h)).json()["retired_at"] == r.json()["retired_at"]
    assert (await community_client.get(f"{BASE}/oss/clusters/c2/units/E002", headers=h)).json()["retired_at"] is None
    assert (await community_client.get(f"{BASE}/oss", headers=h)).json()["retired_at"] is None
    r = await community_client.post(f"{BASE}/oss/clusters/c2/units", json={"code": "E003", "name": "x"}, headers=h)
    assert r.status_code == 201


# ----------------------------------------------------------------------------------------------- residents
async def test_residents_link_list_unlink(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"]}})
    alice, bob, stranger = new_user_id(), new_user_id(), new_user_id()
    await add_member(company_id, alice, "member", "alice")
    await add_member(company_id, bob, "operator", "bob")

    r = await community_client.put(f"{UNIT}/E001/residents/{bob}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == bob and r.json()["username"] == "bob" and r.json()["linked_at"].endswith("Z")
    r = await community_client.put(f"{UNIT}/E001/residents/{alice}", headers=h)
    assert r.status_code == 200
    again = await community_client.put(f"{UNIT}/E001/residents/{alice}", headers=h)
    assert again.status_code == 200 and again.json() == r.json()

    unit = (await community_client.get(f"{UNIT}/E001", headers=h)).json()
    assert unit["resident_ids"] == sorted([alice, bob]) and unit["version"] == 3  # two links, not three
    r = await community_client.get(f"{UNIT}/E001/residents", headers=h)
    assert [(x["user_id"], x["username"]) for x in r.json()["residents"]] == sorted([(alice, "alice"), (bob, "bob")])

    # Not a member of this company: 422 naming the user, nothing linked.
    r = await community_client.put(f"{UNIT}/E001/residents/{stranger}", headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["path", "userId"] and str(stranger) in r.json()["detail"][0]["msg"]
    # A member of another company only is no member here either.
    await add_member(company_id + 1, stranger)
    assert (await community_client.put(f"{UNIT}/E001/residents/{stranger}", headers=h)).status_code == 422
    assert (await community_client.put(f"{UNIT}/E001/residents/0", headers=h)).status_code == 422

    r = await community_client.delete(f"{UNIT}/E001/residents/{bob}", headers=h)
    assert r.status_code == 204 and r.content == b""
    assert (await community_client.delete(f"{UNIT}/E001/residents/{bob}", headers=h)).status_code == 404
    unit = (await community_client.get(f"{UNIT}/E001", headers=h)).json()
    assert unit["resident_ids"] == [alice] and unit["version"] == 4

    # A retired unit takes no residents, but its residents can still be unlinked.
    await community_client.post(f"{UNIT}/E001/retire", headers=h)
    assert (await community_client.put(f"{UNIT}/E001/residents/{bob}", headers=h)).status_code == 409
    assert (await community_client.delete(f"{UNIT}/E001/residents/{alice}", headers=h)).status_code == 204


# ----------------------------------------------------------------------------------------------- roles, tenancy
async def test_management_needs_admin_or_operator(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    await make_registry(community_client, internal_headers(company_id, "admin"), {"oss": {"c1": ["E001"]}})
    for role in ("member", "device"):
        h = internal_headers(company_id, role)
        assert (await community_client.get(BASE, headers=h)).status_code == 403
        assert (await community_client.post(BASE, json={"code": "x", "name": "x"}, headers=h)).status_code == 403
        assert (await community_client.get(f"{UNIT}/E001", headers=h)).status_code == 403
    assert (await community_client.get(BASE)).status_code == 401


async def test_tenant_isolation_every_endpoint(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    other_company: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    """Company B sees nothing of company A: every path naming A's codes is a 404 for B, lists are empty,
    B's writes change nothing of A's, and B may reuse A's codes."""
    a, b = op(internal_headers, company_id), op(internal_headers, other_company)
    await make_registry(community_client, a, {"oss": {"c1": ["E001"]}})
    user = new_user_id()
    await add_member(company_id, user)
    await add_member(other_company, user)
    assert (await community_client.put(f"{UNIT}/E001/residents/{user}", headers=a)).status_code == 200
    before = (await community_client.get(f"{UNIT}/E001", headers=a)).json()

    cases = [
        ("GET", f"{BASE}/oss", None),
        ("PATCH", f"{BASE}/oss", {"name": "x"}),
        ("POST", f"{BASE}/oss/retire", None),
        ("GET", f"{BASE}/oss/clusters", None),
        ("POST", f"{BASE}/oss/clusters", {"code": "c9", "name": "x"}),
        ("GET", f"{BASE}/oss/clusters/c1", None),
        ("PATCH", f"{BASE}/oss/clusters/c1", {"name": "x"}),
        ("POST", f"{BASE}/oss/clusters/c1/retire", None),
        ("GET", UNIT, None),
        ("POST", UNIT, {"code": "E9", "name": "x"}),
        ("GET", f"{UNIT}/E001", None),
        ("PATCH", f"{UNIT}/E001", {"name": "x"}),
        ("POST", f"{UNIT}/E001/retire", None),
        ("GET", f"{UNIT}/E001/residents", None),
        ("PUT", f"{UNIT}/E001/residents/{user}", None),
        ("DELETE", f"{UNIT}/E001/residents/{user}", None),
    ]
    for method, path, body in cases:
        r = await community_client.request(method, path, json=body, headers=b)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert "oss" in r.json()["detail"] or "E001" in r.json()["detail"] or "c1" in r.json()["detail"]
    assert (await community_client.get(BASE, headers=b)).json()["communities"] == []
    r = await community_client.get(BASE, params={"include_retired": True}, headers=b)
    assert r.json()["communities"] == []
    after = (await community_client.get(f"{UNIT}/E001", headers=a)).json()
    assert after == before
    assert (await community_client.get(f"{BASE}/oss", headers=a)).json()["retired_at"] is None
    # B may use the same codes: they are unique per company.
    await make_registry(community_client, b, {"oss": {"c1": ["E001"]}})


async def test_retire_races_creates_and_links(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    """Creates, links and a retire of the community at once: each create either lands before the retire
    (and is retired with it) or is refused (409); nothing active is left under the retired community."""
    h = op(internal_headers, company_id)
    await make_registry(community_client, h, {"oss": {"c1": ["E001"]}})
    users = [new_user_id() for _ in range(4)]
    for user in users:
        await add_member(company_id, user)
    requests = [community_client.post(UNIT, json={"code": f"N{i}", "name": "n"}, headers=h) for i in range(6)]
    requests += [
        community_client.post(f"{BASE}/oss/clusters", json={"code": f"k{i}", "name": "k"}, headers=h) for i in range(3)
    ]
    requests += [community_client.put(f"{UNIT}/E001/residents/{u}", headers=h) for u in users]
    requests.insert(5, community_client.post(f"{BASE}/oss/retire", headers=h))
    answers = await asyncio.gather(*requests)
    assert all(r.status_code in (200, 201, 409) for r in answers), [(r.status_code, r.text) for r in answers]
    assert answers[5].status_code == 200
    assert not [r for r in answers if "retry" in r.text], "a deadlock"
    clusters = (await community_client.get(f"{BASE}/oss/clusters", params={"include_retired": True}, headers=h)).json()
    assert clusters["clusters"] and all(k["retired_at"] is not None for k in clusters["clusters"])
    for k in clusters["clusters"]:
        path = f"{BASE}/oss/clusters/{k['code']}/units"
        listed = (await community_client.get(path, params={"include_retired": True}, headers=h)).json()["units"]
        assert all(u["retired_at"] is not None for u in listed), listed
    outline = (await community_client.get("/api/staff/community/outline", headers=h)).json()
    assert outline == {"communities": {}}
