"""The staff downtime endpoints: unitIdList (with its window), list (overlap semantics, unitId), the
availability report against a reference computation (hypothesis: random telemetry, windows and
availability windows), never-reported units and empty periods, bad input, tenant isolation."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from downtime_helpers import AUTO_MODE, at, feed, reference_availability, register_units, sample
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deal_service.downtime.schemas import AvailabilityReport, Downtime

HETERO = "heteronomous"
BASE = "/api/staff/downtime"


def iso(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


async def test_unit_id_list_and_list(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    cl = await register_units(deal_app, company_id, ["E1", "E2", "E3"])
    op = internal_headers(company_id, "operator")
    await feed(
        deal_app, company_id, [sample(cl, "E1", t, m) for t, m in [(0, AUTO_MODE), (30, HETERO), (60, AUTO_MODE)]]
    )
    await feed(deal_app, company_id, [sample(cl, "E2", t) for t in (1000, 1300)])  # a gap [1000, 1300]
    await feed(deal_app, company_id, [sample(cl, "E2", 1400, HETERO)])  # open since 1400
    c = deal_client
    r = await c.get(f"{BASE}/unitIdList", params=cl.cc(), headers=op)
    assert (r.status_code, r.json()) == (200, ["E1", "E2"])  # E3 never reported
    window = {"datetimeFrom": iso(500), "datetimeTo": iso(2000)}
    assert (await c.get(f"{BASE}/unitIdList", params={**cl.cc(), **window}, headers=op)).json() == ["E2"]
    assert (await c.get(f"{BASE}/unitIdList", params={**cl.cc(), "datetimeTo": iso(60)}, headers=op)).json() == ["E1"]

    every = (await c.get(f"{BASE}/list", params=cl.cc(), headers=op)).json()
    assert every == [
        {
            "communityId": cl.community,
            "clusterId": cl.cluster,
            "unitId": "E1",
            "downDateTime": iso(30),
            "recoveryDateTime": iso(60),
        },
        {
            "communityId": cl.community,
            "clusterId": cl.cluster,
            "unitId": "E2",
            "downDateTime": iso(1000),
            "recoveryDateTime": iso(1300),
        },
        {
            "communityId": cl.community,
            "clusterId": cl.cluster,
            "unitId": "E2",
            "downDateTime": iso(1400),
            "recoveryDateTime": None,
        },
    ]
    for item in every:
        Downtime.model_validate(item)

    def starts(params: dict[str, str]) -> Any:
        return c.get(f"{BASE}/list", params={**cl.cc(), **params}, headers=op)

    # overlap: ended at or after from (or open), begun before to; unclipped
    got = (await starts({"datetimeFrom": iso(60), "datetimeTo": iso(1000)})).json()
    assert [d["downDateTime"] for d in got] == [iso(30)]  # recovery 60 ≥ from 60; 1000 is not < 1000
    got = (await starts({"datetimeFrom": iso(61)})).json()
    assert [d["downDateTime"] for d in got] == [iso(1000), iso(1400)]
    got = (await starts({"datetimeFrom": iso(5000)})).json()
    assert [d["downDateTime"] for d in got] == [iso(1400)]  # still open
    got = (await starts({"unitId": "E2", "datetimeTo": iso(1400)})).json()
    assert [d["downDateTime"] for d in got] == [iso(1000)]
    assert (await starts({"unitId": "E3"})).json() == []
    page = await starts({"limit": "1", "offset": "1"})
    assert [d["downDateTime"] for d in page.json()] == [iso(1000)] and "X-Result-Truncated" not in page.headers


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        (
            "list",
            {"datetimeFrom": "2030-01-02T00:00:00Z", "datetimeTo": "2030-01-01T00:00:00Z"},
            400,
            "“datetimeTo” should be greater than “datetimeFrom”",
        ),
        (
            "list",
            {"datetimeFrom": "2030-01-01T00:00:00Z", "datetimeTo": "2030-01-01T00:00:00Z"},
            400,
            "“datetimeTo” should be greater than “datetimeFrom”",
        ),
        ("list", {"datetimeFrom": "yesterday"}, 400, None),
        ("list", {"datetimeFrom": "2030-01-01T00:00:00"}, 400, None),  # no offset
        ("list", {"unitId": "E9"}, 400, "bad param values : unitId"),
        ("unitIdList", {"datetimeTo": "2030-13-01T00:00:00Z"}, 400, None),
        ("availability", {}, 400, "no param : datetimeFrom, datetimeTo"),
        ("availability", {"datetimeFrom": "2030-01-01T00:00:00Z"}, 400, "no param : datetimeFrom, datetimeTo"),
        (
            "availability",
            {"datetimeFrom": "2030-01-02T00:00:00Z", "datetimeTo": "2030-01-01T00:00:00Z"},
            400,
            "“datetimeTo” should be greater than “datetimeFrom”",
        ),
        ("availability", {"datetimeFrom": "x", "datetimeTo": "2030-01-01T00:00:00Z"}, 400, None),
        ("list", {"limit": "0"}, 422, None),
    ],
)
async def test_bad_input_is_a_400_with_a_text(
    deal_app: FastAPI,
    deal_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    path: str,
    params: dict[str, str],
    status: int,
    detail: str | None,
) -> None:
    cl = await register_units(deal_app, company_id, ["E1"])
    r = await deal_client.get(
        f"{BASE}/{path}", params={**cl.cc(), **params}, headers=internal_headers(company_id, "admin")
    )
    assert r.status_code == status, r.text
    if detail is not None:
        assert r.json() == {"detail": detail}
    elif status == 400:
        assert isinstance(r.json()["detail"], str) and r.json()["detail"].startswith("bad param value")


async def test_guards_and_tenant_isolation(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    other = company_id + 500_000
    mine = await register_units(deal_app, company_id, ["E1"], cluster="same_codes")
    theirs = await register_units(deal_app, other, ["E1", "E2"], cluster="same_codes")
    await feed(deal_app, company_id, [sample(mine, "E1", 0, HETERO)])
    await feed(deal_app, other, [sample(theirs, "E2", 0, HETERO), sample(theirs, "E1", 0, HETERO)])
    op = internal_headers(company_id, "operator")
    c = deal_client
    assert (await c.get(f"{BASE}/unitIdList", params=mine.cc(), headers=op)).json() == ["E1"]
    listed = (await c.get(f"{BASE}/list", params=mine.cc(), headers=op)).json()
    assert [d["unitId"] for d in listed] == ["E1"]
    r = await c.get(f"{BASE}/list", params={**mine.cc(), "unitId": "E2"}, headers=op)  # their unit: unknown here
    assert (r.status_code, r.json()) == (400, {"detail": "bad param values : unitId"})
    window = {"datetimeFrom": iso(0), "datetimeTo": iso(100)}
    report = (await c.get(f"{BASE}/availability", params={**mine.cc(), **window}, headers=op)).json()
    assert [u["unitId"] for u in report["units"]] == ["E1"]
    only_theirs = await register_units(deal_app, other, ["E7"])
    for path in ("unitIdList", "list", "availability"):
        r = await c.get(f"{BASE}/{path}", params={**only_theirs.cc(), **window}, headers=op)
        assert (r.status_code, r.json()) == (400, {"detail": "bad param values : communityId, clusterId"}), path
        r = await c.get(f"{BASE}/{path}", params=window, headers=op)
        assert (r.status_code, r.json()) == (400, {"detail": "no param : communityId, clusterId"}), path
        r = await c.get(
            f"{BASE}/{path}", params={**mine.cc(), **window}, headers=internal_headers(company_id, "member")
        )
        assert (r.status_code, r.json()) == (403, {"detail": "staff required"}), path


async def test_availability_never_reported_empty_periods_and_the_future(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """A unit that never reported is listed as such and left out of the totals; a unit whose period is
    empty has no ratio (no division by zero); a window reaching past now is cut at now; units outside
    the window are not listed."""
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(days=2)
    cl = await register_units(
        deal_app,
        company_id,
        {
            "R": (None, None),  # reported, down for one hour
            "N": (None, None),  # never reported
            "Z": (t0 + timedelta(days=1), t0 + timedelta(days=1)),  # an empty availability window
            "X": (now + timedelta(days=10), None),  # available only after the window
        },
    )
    base = (t0 - at(0)).total_seconds()
    await feed(
        deal_app,
        company_id,
        [sample(cl, "R", base + s, m) for s, m in [(0, AUTO_MODE), (60, HETERO), (3660, AUTO_MODE)]],
    )
    await feed(deal_app, company_id, [sample(cl, "Z", base)])
    params = {**cl.cc(), "datetimeFrom": t0.isoformat(), "datetimeTo": (now + timedelta(days=5)).isoformat()}
    r = await deal_client.get(f"{BASE}/availability", params=params, headers=internal_headers(company_id, "operator"))
    assert r.status_code == 200, r.text
    body = r.json()
    AvailabilityReport.model_validate(body)
    units = {u["unitId"]: u for u in body["units"]}
    assert sorted(units) == ["N", "R", "Z"]
    judged_end = datetime.fromisoformat(body["datetimeTo"])
    assert now <= judged_end <= datetime.now(UTC)  # cut at the time of the answer
    period = (judged_end - t0).total_seconds()
    assert units["R"]["reported"] and units["R"]["downtimeSeconds"] == 3600
    assert units["R"]["ratio"] == pytest.approx((period - 3600) / period)
    assert units["N"] == {
        **units["N"],
        "reported": False,
        "downtimeSeconds": None,
        "ratio": None,
        "availableSeconds": None,
    }
    assert units["N"]["periodSeconds"] == pytest.approx(period)
    assert units["Z"]["periodSeconds"] == 0 and units["Z"]["ratio"] is None
    totals = body["cluster"]
    assert (totals["units"], totals["unreportedUnits"]) == (2, 1)
    assert totals["downtimeSeconds"] == 3600 and totals["ratio"] == pytest.approx((period - 3600) / period)
    assert totals["averagePeriodSeconds"] == pytest.approx(period / 2)
    # a cluster of units that never reported: no ratio at all
    empty = await register_units(deal_app, company_id, ["Q"])
    r = await deal_client.get(
        f"{BASE}/availability", params={**params, **empty.cc()}, headers=internal_headers(company_id, "operator")
    )
    assert r.json()["cluster"] == {
        "units": 0,
        "unreportedUnits": 1,
        "periodSeconds": 0.0,
        "downtimeSeconds": 0.0,
        "availableSeconds": 0.0,
        "averagePeriodSeconds": None,
        "averageAvailableSeconds": None,
        "averageDowntimeSeconds": None,
        "ratio": None,
    }


_companies = itertools.count(930_000_000)
_opt_instant = st.one_of(st.none(), st.integers(-600, 4200).map(lambda s: s * 1.0))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    units=st.lists(
        st.tuples(
            _opt_instant,  # available_from
            _opt_instant,  # available_to
            st.lists(
                st.tuples(st.integers(0, 120).map(lambda k: k * 30.0), st.sampled_from([AUTO_MODE, AUTO_MODE, HETERO])),
                max_size=25,
            ),
        ),
        min_size=1,
        max_size=5,
    ),
    window=st.tuples(st.integers(-300, 3600), st.integers(1, 4000)),
    seed=st.integers(0, 1000),
)
async def test_availability_matches_a_reference(
    deal_app: FastAPI,
    deal_client: httpx.AsyncClient,
    internal_headers: Any,
    units: list[tuple[float | None, float | None, list[tuple[float, str]]]],
    window: tuple[int, int],
    seed: int,
) -> None:
    company_id = next(_companies)
    codes = [f"U{i}" for i in range(len(units))]
    cl = await register_units(
        deal_app,
        company_id,
        {
            code: (None if f is None else at(f), None if t is None else at(t))
            for code, (f, t, _) in zip(codes, units, strict=True)
        },
    )
    rng = random.Random(seed)
    for code, (_, _, samples) in zip(codes, units, strict=True):
        shuffled = list(samples)
        rng.shuffle(shuffled)
        for i in range(0, len(shuffled), 4):
            await feed(deal_app, company_id, [sample(cl, code, t, m) for t, m in shuffled[i : i + 4]])
    start, length = at(window[0]), timedelta(seconds=window[1])
    params = {**cl.cc(), "datetimeFrom": start.isoformat(), "datetimeTo": (start + length).isoformat()}
    op = internal_headers(company_id, "operator")
    body = (await deal_client.get(f"{BASE}/availability", params=params, headers=op)).json()
    rows = (await deal_client.get(f"{BASE}/list", params=cl.cc(), headers=op)).json()
    described = [
        {
            "code": code,
            "available_from": None if f is None else at(f),
            "available_to": None if t is None else at(t),
            "first_time": min((at(s) for s, _ in samples), default=None),
        }
        for code, (f, t, samples) in zip(codes, units, strict=True)
    ]
    want = reference_availability(described, rows, start, start + length, datetime.now(UTC))
    got = {u["unitId"]: u for u in body["units"]}
    assert sorted(got) == sorted(want["units"])
    for code, (period, down, ratio) in want["units"].items():
        assert got[code]["periodSeconds"] == pytest.approx(period, abs=1e-6), code
        if down is None:
            assert not got[code]["reported"] and got[code]["downtimeSeconds"] is None, code
        else:
            assert got[code]["downtimeSeconds"] == pytest.approx(down, abs=1e-6), code
            assert got[code]["ratio"] == (None if ratio is None else pytest.approx(ratio, abs=1e-9)), code
    assert body["cluster"]["units"] == want["n"]
    assert body["cluster"]["periodSeconds"] == pytest.approx(want["period"], abs=1e-6)
    assert body["cluster"]["downtimeSeconds"] == pytest.approx(want["down"], abs=1e-6)
    assert body["cluster"]["ratio"] == (None if want["ratio"] is None else pytest.approx(want["ratio"], abs=1e-9))


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25)])
async def test_availability_of_a_local_day_across_a_dst_change(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int, day: str, hours: int
) -> None:
    """A Paris day given with its offsets (as the original's page sends local midnights) is 23 or 25 hours
    long; a downtime across the change counts its real length."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    local_start = datetime.fromisoformat(day).replace(tzinfo=paris)
    local_end = datetime.combine(local_start.date() + timedelta(days=1), datetime.min.time(), tzinfo=paris)
    # aware arithmetic in one zone is wall-clock arithmetic in Python: compute in UTC
    start, end = local_start.astimezone(UTC), local_end.astimezone(UTC)
    cl = await register_units(deal_app, company_id, ["E1"])
    base = (start - at(0)).total_seconds()
    # up at local midnight, down from 01:30 local to 04:30 local (wall clock): 2 h real time in March, 4 h in October
    down_at = datetime.fromisoformat(f"{day}T01:30:00").replace(tzinfo=paris).astimezone(UTC)
    up_at = datetime.fromisoformat(f"{day}T04:30:00").replace(tzinfo=paris).astimezone(UTC)
    times = [(0.0, AUTO_MODE)]
    t = 30.0
    while start + timedelta(seconds=t) < end:
        instant = start + timedelta(seconds=t)
        times.append((t, HETERO if down_at <= instant < up_at else AUTO_MODE))
        t += 60.0
    await feed(deal_app, company_id, [sample(cl, "E1", base + s, m) for s, m in times])
    params = {**cl.cc(), "datetimeFrom": local_start.isoformat(), "datetimeTo": local_end.isoformat()}
    body = (
        await deal_client.get(f"{BASE}/availability", params=params, headers=internal_headers(company_id, "operator"))
    ).json()
    unit = body["units"][0]
    assert unit["periodSeconds"] == hours * 3600
    assert unit["downtimeSeconds"] == pytest.approx((up_at - down_at).total_seconds(), abs=60)
    assert (up_at - down_at).total_seconds() == (2 if hours == 23 else 4) * 3600
