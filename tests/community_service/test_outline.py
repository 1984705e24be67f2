"""The outlines (seed 004): /api/staff/community/outline and /api/resident/community/outline, their exact
shape and order, asof, retired records, guards' texts and tenant isolation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_helpers import BASE, make_registry

from community_service.registry.schemas import OutlineResponse
from gridcommons.serialization import matches_model

_companies = itertools.count(8_800_000)
STAFF = "/api/staff/community/outline"
RESIDENT = "/api/resident/community/outline"


def unit(community: str, cluster: str, code: str, name: str | None = None, **window: Any) -> dict[str, Any]:
    return {
        "communityId": community,
        "clusterId": cluster,
        "id": code,
        "name": name or code.upper(),
        "available_from": window.get("available_from"),
        "available_to": window.get("available_to"),
    }


async def resident_of(
    client: httpx.AsyncClient, h: dict[str, str], add_member: Any, company: int, user: int, *units: str
) -> None:
    await add_member(company, user)
    for path in units:
        r = await client.put(f"{BASE}/{path}/residents/{user}", headers=h)
        assert r.status_code == 200, r.text


def key_order(body: str) -> list[Any]:
    """Every object's keys in the order they were sent, depth-first."""
    out: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            out.append(list(value))
            for v in value.values():
                walk(v)

    walk(json.loads(body))
    return out


async def test_staff_outline_exact_shape(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = internal_headers(company_id, "operator")
    r = await community_client.get(STAFF, headers=h)
    assert r.status_code == 200 and r.json() == {"communities": {}}

    await make_registry(
        community_client,
        h,
        {"oss_community": {"oss_cluster": ["E002", "E001"], "empty": []}, "Alpha": {}, "gone": {"g": ["G1"]}},
    )
    r = await community_client.post(
        f"{BASE}/oss_community/clusters/oss_cluster/units",
        json={"code": "E003", "name": "House 3", "available_from": "2027-01-01T00:00:00.5Z"},
        headers=h,
    )
    assert r.status_code == 201
    await community_client.post(f"{BASE}/gone/retire", headers=h)
    await community_client.post(f"{BASE}/oss_community/clusters/oss_cluster/units/E002/retire", headers=h)
    r = await community_client.post(f"{BASE}/oss_community/clusters", json={"code": "old", "name": "x"}, headers=h)
    await community_client.post(f"{BASE}/oss_community/clusters/old/retire", headers=h)

    r = await community_client.get(STAFF, headers=internal_headers(company_id, "admin"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    expected = {
        "communities": {
            "Alpha": {"id": "Alpha", "name": "ALPHA", "clusters": {}},
            "oss_community": {
                "id": "oss_community",
                "name": "OSS_COMMUNITY",
                "clusters": {
                    "empty": {"communityId": "oss_community", "id": "empty", "name": "EMPTY", "units": {}},
                    "oss_cluster": {
                        "communityId": "oss_community",
                        "id": "oss_cluster",
                        "name": "OSS_CLUSTER",
                        "units": {
                            "E001": unit("oss_community", "oss_cluster", "E001"),
                            "E003": unit(
                                "oss_community",
                                "oss_cluster",
                                "E003",
                                "House 3",
                                available_from="2027-01-01T00:00:00.500000Z",
                            ),
                        },
                    },
                },
            },
        }
    }
    assert r.json() == expected
    # Keys in code order at every level, each entry's fields in the seed's order.
    assert key_order(r.text) == key_order(json.dumps(expected))
    assert matches_model(OutlineResponse, r.json())


async def test_staff_outline_asof(community_client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> None:
    h = internal_headers(company_id, "operator")
    await make_registry(community_client, h, {"c": {"k": ["always"]}})
    units = f"{BASE}/c/clusters/k/units"
    windows = {
        "current": ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"),
        "ended": (None, "2027-01-01T00:00:00Z"),
        "future": ("2027-01-01T00:00:00.000001Z", None),
    }
    for code, (start, end) in windows.items():
        body = {"code": code, "name": code, "available_from": start, "available_to": end}
        assert (await community_client.post(units, json=body, headers=h)).status_code == 201

    async def at(asof: str | None) -> list[str]:
        r = await community_client.get(STAFF, params={"asof": asof} if asof else None, headers=h)
        assert r.status_code == 200, r.text
        assert matches_model(OutlineResponse, r.json())
        return list(r.json()["communities"]["c"]["clusters"]["k"]["units"])

    # from <= asof < to; the same instant written with another offset is the same instant.
    assert await at("2027-01-01T00:00:00Z") == ["always", "current"]
    assert await at("2027-01-01T01:00:00+01:00") == ["always", "current"]
    assert await at("2026-12-31T23:59:59Z") == ["always", "ended"]
    assert await at("2027-02-01T00:00:00Z") == ["always", "future"]
    assert await at(None) == ["always", "current", "ended", "future"]
    # No unit available: the cluster and community are still there.
    for code in ("always", "future"):
        assert (await community_client.post(f"{units}/{code}/retire", headers=h)).status_code == 200
    r = await community_client.get(STAFF, params={"asof": "2030-01-01T00:00:00Z"}, headers=h)
    assert r.json() == {
        "communities": {
            "c": {"id": "c", "name": "C", "clusters": {"k": {"communityId": "c", "id": "k", "name": "K", "units": {}}}}
        }
    }
    for bad in ("2027-01-01T00:00:00", "yesterday", "1700000000", "2027-13-01T00:00:00Z"):
        r = await community_client.get(STAFF, params={"asof": bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)


async def test_staff_outline_guard(community_client: httpx.AsyncClient, internal_headers: Any, company_id: int) -> None:
    for role in ("member", "device"):
        r = await community_client.get(STAFF, headers=internal_headers(company_id, role))
        assert r.status_code == 403 and r.json() == {"detail": "staff required"}
    assert (await community_client.get(STAFF)).status_code == 401


async def test_resident_outline(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    h = internal_headers(company_id, "operator")
    await make_registry(
        community_client,
        h,
        {"oss": {"c1": ["E001", "E002", "E003"], "c2": ["F001"], "c3": ["G001"]}, "other": {"x": ["X1"]}},
    )
    user = new_user_id()
    me = internal_headers(company_id, "member", subject=str(user))

    # Linked to no unit: the seed's 403.
    r = await community_client.get(RESIDENT, headers=me)
    assert r.status_code == 403 and r.json() == {"detail": "resident required"}

    await resident_of(
        community_client,
        h,
        add_member,
        company_id,
        user,
        "oss/clusters/c1/units/E003",
        "oss/clusters/c1/units/E001",
        "oss/clusters/c2/units/F001",
    )
    r = await community_client.get(RESIDENT, headers=me)
    assert r.status_code == 200, r.text
    expected = {
        "communities": {
            "oss": {
                "id": "oss",
                "name": "OSS",
                "clusters": {
                    "c1": {
                        "communityId": "oss",
                        "id": "c1",
                        "name": "C1",
                        "units": {"E001": unit("oss", "c1", "E001"), "E003": unit("oss", "c1", "E003")},
                    },
                    "c2": {
                        "communityId": "oss",
                        "id": "c2",
                        "name": "C2",
                        "units": {"F001": unit("oss", "c2", "F001")},
                    },
                },
            }
        }
    }
    assert r.json() == expected
    assert key_order(r.text) == key_order(json.dumps(expected))
    assert matches_model(OutlineResponse, r.json())

    # Staff are not implicitly residents; an operator linked to a unit is one.
    staff_user = new_user_id()
    staff = internal_headers(company_id, "operator", subject=str(staff_user))
    assert (await community_client.get(RESIDENT, headers=staff)).status_code == 403
    await resident_of(community_client, h, add_member, company_id, staff_user, "other/clusters/x/units/X1")
    r = await community_client.get(RESIDENT, headers=staff)
    assert list(r.json()["communities"]) == ["other"]

    # Retired units leave the outline; with none left, the seed's 403 again.
    await community_client.post(f"{BASE}/oss/clusters/c2/retire", headers=h)
    r = await community_client.get(RESIDENT, headers=me)
    assert list(r.json()["communities"]["oss"]["clusters"]) == ["c1"]
    await community_client.post(f"{BASE}/oss/retire", headers=h)
    r = await community_client.get(RESIDENT, headers=me)
    assert r.status_code == 403 and r.json() == {"detail": "resident required"}


async def test_outlines_tenant_isolation(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    other_company: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    a = internal_headers(company_id, "operator")
    await make_registry(community_client, a, {"oss": {"c1": ["E001"]}})
    user = new_user_id()
    await resident_of(community_client, a, add_member, company_id, user, "oss/clusters/c1/units/E001")
    await add_member(other_company, user)
    # Company B's staff see none of A's registry; A's resident is no resident in B.
    r = await community_client.get(STAFF, headers=internal_headers(other_company, "admin"))
    assert r.json() == {"communities": {}}
    r = await community_client.get(RESIDENT, headers=internal_headers(other_company, "member", subject=str(user)))
    assert r.status_code == 403 and r.json() == {"detail": "resident required"}
    r = await community_client.get(RESIDENT, headers=internal_headers(company_id, "member", subject=str(user)))
    assert list(r.json()["communities"]) == ["oss"]


# ----------------------------------------------------------------------------------------------- asof vs a reference
T0 = datetime(2027, 3, 28, 0, 0, tzinfo=UTC)  # the DE spring-forward day: instants are absolute, no calendar
US = timedelta(microseconds=1)
PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)
bound = st.one_of(st.none(), st.integers(0, 12))
windows = st.lists(st.tuples(bound, st.one_of(st.none(), st.integers(1, 6))), min_size=1, max_size=6)
instants = st.lists(st.tuples(st.integers(-1, 20), st.sampled_from([-1, 0, 1])), min_size=1, max_size=5)


def iso_z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@PROPERTY
@given(windows, instants)
async def test_property_asof_matches_reference(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    units_windows: list[tuple[int | None, int | None]],
    asofs: list[tuple[int, int]],
) -> None:
    """Units with random windows (hours after T0; from + length, either side open): the staff outline at
    random instants (whole hours, ± 1 µs) holds exactly the units a direct reading of the rule keeps."""
    company = next(_companies)
    h = internal_headers(company, "operator")
    await make_registry(community_client, h, {"c": {"k": []}})
    stored: dict[str, tuple[datetime | None, datetime | None]] = {}
    for i, (start, length) in enumerate(units_windows):
        f = None if start is None else T0 + timedelta(hours=start)
        t = None if length is None else (f or T0) + timedelta(hours=length)
        code = f"u{i:02d}"
        body = {"code": code, "name": code, "available_from": f and iso_z(f), "available_to": t and iso_z(t)}
        assert (await community_client.post(f"{BASE}/c/clusters/k/units", json=body, headers=h)).status_code == 201
        stored[code] = (f, t)
    for hours, jitter in asofs:
        asof = T0 + timedelta(hours=hours) + jitter * US
        expected = [c for c, (f, t) in sorted(stored.items()) if (f is None or f <= asof) and (t is None or asof < t)]
        r = await community_client.get(STAFF, params={"asof": iso_z(asof)}, headers=h)
        assert r.status_code == 200, r.text
        assert list(r.json()["communities"]["c"]["clusters"]["k"]["units"]) == expected, (asof, stored)


async def test_asof_on_both_dst_days(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """Windows and asof are instants: local times with their offset on the DE DST days compare as such."""
    h = internal_headers(company_id, "operator")
    await make_registry(community_client, h, {"c": {"k": []}})
    units = f"{BASE}/c/clusters/k/units"
    spring = {"code": "spring", "name": "s", "available_from": "2027-03-28T03:00:00+02:00"}  # 01:00Z
    autumn = {"code": "autumn", "name": "a", "available_to": "2027-10-31T02:30:00+01:00"}  # the second 02:30, 01:30Z
    for body in (spring, autumn):
        assert (await community_client.post(units, json=body, headers=h)).status_code == 201
    r = await community_client.get(f"{units}/spring", headers=h)
    assert r.json()["available_from"] == "2027-03-28T01:00:00Z"

    async def at(asof: str) -> list[str]:
        r = await community_client.get(STAFF, params={"asof": asof}, headers=h)
        assert r.status_code == 200, r.text
        return list(r.json()["communities"]["c"]["clusters"]["k"]["units"])

    assert await at("2027-03-28T01:59:59.999999+01:00") == ["autumn"]  # just before the clocks jump
    assert await at("2027-03-28T03:00:00+02:00") == ["autumn", "spring"]
    assert await at("2027-10-31T02:30:00+02:00") == ["autumn", "spring"]  # the first 02:30
    assert await at("2027-10-31T02:30:00+01:00") == ["spring"]  # the second 02:30: the window has ended
