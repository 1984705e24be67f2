"""The staff endpoints of seed 004 (failure/openList, failure/list with its overlap filter, job/list,
job/activate, job/deactivate as GET and POST) with their exact shapes and texts, the operators' log
search, the HTTP ingestion door (all or nothing, offending records named), the guards and tenant
isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from monitoring_helpers import failure_events, judge, log, register, settings, store_logs

from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import utcnow

FAILURE = "/api/staff/monitoring/failure"
JOB = "/api/staff/monitoring/job"
SIX = [
    "apis_main_alive",
    "apis_ccc_alive",
    "grid_master_alive",
    "apis_main_severe",
    "apis_ccc_severe",
    "apis_log_severe",
]


async def test_open_list_and_list_have_the_seed_shape(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(monitoring_app, company_id)
    op = internal_headers(company_id, "operator")
    assert (await monitoring_client.get(f"{FAILURE}/openList", params=reg.cc(), headers=op)).json() == []
    t0 = utcnow()
    await judge(monitoring_app, reg, "apis_ccc_alive", now=t0)
    await judge(monitoring_app, reg, "grid_master_alive", now=t0 + timedelta(seconds=1))
    got = (await monitoring_client.get(f"{FAILURE}/openList", params=reg.cc(), headers=op)).json()
    assert [list(f) for f in got] == [
        ["id", "type", "community_id", "cluster_id", "program_id", "unit_id", "detected", "closed", "description"]
    ] * 2
    first = got[0]
    assert first["type"] == "apis_ccc_alive" and first["community_id"] == "oss_community"
    assert first["cluster_id"] == "oss_cluster" and first["program_id"] == "apis-ccc" and first["unit_id"] is None
    assert first["closed"] is None and first["description"] == "The program may not be running."
    assert first["detected"].endswith("Z")
    # close the apis-ccc one: openList keeps the other, list has both
    await store_logs(monitoring_app, company_id, [log("apis-ccc", "INFO", "reporting unit data")])
    t1 = t0 + timedelta(seconds=10)
    await judge(monitoring_app, reg, "apis_ccc_alive", now=t1)
    got = (await monitoring_client.get(f"{FAILURE}/openList", params=reg.cc(), headers=op)).json()
    assert [f["type"] for f in got] == ["grid_master_alive"]
    every = (await monitoring_client.get(f"{FAILURE}/list", params=reg.cc(), headers=op)).json()
    assert [(f["type"], f["closed"] is None) for f in every] == [("apis_ccc_alive", False), ("grid_master_alive", True)]

    async def window(**bounds: str) -> list[str]:
        r = await monitoring_client.get(f"{FAILURE}/list", params={**reg.cc(), **bounds}, headers=op)
        assert r.status_code == 200, r.text
        return [f["type"] for f in r.json()]

    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    # overlap: still open, or closed at/after datetimeFrom; and detected before datetimeTo
    assert await window(datetimeFrom=iso(t1 + timedelta(seconds=1))) == ["grid_master_alive"]
    assert await window(datetimeFrom=iso(t1)) == ["apis_ccc_alive", "grid_master_alive"]
    assert await window(datetimeTo=iso(t0 + timedelta(milliseconds=500))) == ["apis_ccc_alive"]
    assert await window(datetimeTo=iso(t0)) == []
    assert await window(datetimeFrom=iso(t0 - timedelta(days=1)), datetimeTo=iso(t0 + timedelta(days=1))) == [
        "apis_ccc_alive",
        "grid_master_alive",
    ]
    # paging
    r = await monitoring_client.get(f"{FAILURE}/list", params={**reg.cc(), "limit": 1, "offset": 1}, headers=op)
    assert [f["type"] for f in r.json()] == ["grid_master_alive"]


async def test_bad_windows_are_400s(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(monitoring_app, company_id)
    op = internal_headers(company_id, "admin")
    for params, text in [
        (
            {"datetimeFrom": "2020-01-02T00:00:00Z", "datetimeTo": "2020-01-01T00:00:00Z"},
            "“datetimeTo” should be greater than “datetimeFrom”",
        ),
        ({"datetimeFrom": "yesterday"}, "bad param value : datetimeFrom must be an ISO 8601 date-time"),
        ({"datetimeTo": "2020-01-01T00:00:00"}, "bad param value : datetimeTo needs an offset"),
        ({"datetimeTo": "2020-13-01T00:00:00Z"}, "bad param value : datetimeTo is not a valid date-time"),
    ]:
        for path in (f"{FAILURE}/list", "/api/monitoring/logs"):
            r = await monitoring_client.get(path, params={**reg.cc(), **params}, headers=op)
            assert r.status_code == 400 and r.json()["detail"].startswith(text), (path, params, r.text)


async def test_job_settings(
    monitoring_app: FastAPI,
    monitoring_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    stack: Stack,
) -> None:
    reg = await register(monitoring_app, company_id)
    op = internal_headers(company_id, "operator")
    c = monitoring_client

    async def states() -> list[tuple[str, bool]]:
        r = await c.get(f"{JOB}/list", params=reg.cc(), headers=op)
        assert r.status_code == 200, r.text
        return [(j["type"], j["isActive"]) for j in r.json()]

    # all six, in the seed's order, active by default (MONITORING_JOBS_ACTIVE_BY_DEFAULT)
    assert await states() == [(t, True) for t in SIX]
    await judge(monitoring_app, reg, "apis_ccc_alive")
    r = await c.get(f"{JOB}/deactivate", params={**reg.cc(), "type": "apis_ccc_alive"}, headers=op)
    assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (200, "ok", "text/plain")
    assert await states() == [(t, t != "apis_ccc_alive") for t in SIX]
    # deactivating closed the job's open failure, with the reason on the event
    assert (await c.get(f"{FAILURE}/openList", params=reg.cc(), headers=op)).json() == []
    events = await failure_events(stack, company_id)
    assert [(e["data"]["status"], e["data"]["close_reason"]) for e in events] == [
        ("detected", None),
        ("closed", "job deactivated"),
    ]
    r = await c.post(f"{JOB}/deactivate", params={**reg.cc(), "type": "apis_log_severe"}, headers=op)
    assert (r.status_code, r.text) == (200, "ok")
    r = await c.post(f"{JOB}/activate", params={**reg.cc(), "type": "apis_ccc_alive"}, headers=op)
    assert (r.status_code, r.text) == (200, "ok")
    r = await c.get(f"{JOB}/activate", params={**reg.cc(), "type": "apis_ccc_alive"}, headers=op)
    assert (r.status_code, r.text) == (200, "ok")
    assert await states() == [(t, t != "apis_log_severe") for t in SIX]
    for method in ("GET", "POST"):
        for path in ("activate", "deactivate"):
            r = await c.request(method, f"{JOB}/{path}", params=reg.cc(), headers=op)
            assert (r.status_code, r.json()) == (400, {"detail": "no param : type"})
            r = await c.request(method, f"{JOB}/{path}", params={**reg.cc(), "type": "apis_alive"}, headers=op)
            assert (r.status_code, r.json()) == (400, {"detail": "unknown type : apis_alive"})


async def test_guards_and_another_company(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(monitoring_app, company_id)
    other_company = company_id + 500_000
    other = await register(monitoring_app, other_company)  # the same codes in another company
    await judge(monitoring_app, reg, "apis_log_severe")
    await store_logs(monitoring_app, company_id, [log("apis-log", "SEVERE", "mine")])
    await judge(monitoring_app, reg, "apis_log_severe")
    c = monitoring_client
    paths = [f"{FAILURE}/openList", f"{FAILURE}/list", f"{JOB}/list", "/api/monitoring/logs"]
    member = internal_headers(company_id, "member")
    for path in paths:
        r = await c.get(path, params=reg.cc(), headers=member)
        assert (r.status_code, r.json()) == (403, {"detail": "staff required"}), path
        r = await c.get(path, params={"communityId": "oss_community"}, headers=internal_headers(company_id, "operator"))
        assert (r.status_code, r.json()) == (400, {"detail": "no param : communityId, clusterId"}), path
        r = await c.get(
            path, params={**reg.cc(), "clusterId": "nope"}, headers=internal_headers(company_id, "operator")
        )
        assert (r.status_code, r.json()) == (400, {"detail": "bad param values : communityId, clusterId"}), path
        assert (await c.get(path, params=reg.cc())).status_code == 401
    # the other company's staff see their own (empty) cluster, never this one's failures or logs
    theirs = internal_headers(other_company, "operator")
    assert (await c.get(f"{FAILURE}/openList", params=other.cc(), headers=theirs)).json() == []
    assert (await c.get(f"{FAILURE}/list", params=other.cc(), headers=theirs)).json() == []
    assert (await c.get("/api/monitoring/logs", params=other.cc(), headers=theirs)).json()["items"] == []
    r = await c.get(f"{JOB}/deactivate", params={**other.cc(), "type": "apis_log_severe"}, headers=theirs)
    assert r.status_code == 200
    mine = internal_headers(company_id, "operator")
    assert len((await c.get(f"{FAILURE}/openList", params=reg.cc(), headers=mine)).json()) == 1
    assert dict((j["type"], j["isActive"]) for j in (await c.get(f"{JOB}/list", params=reg.cc(), headers=mine)).json())[
        "apis_log_severe"
    ]
    # a cluster of a company unknown to the caller's is a 400 (codes unknown), not a leak
    r = await c.get(f"{FAILURE}/openList", params=reg.cc(), headers=internal_headers(company_id + 900_000, "operator"))
    assert (r.status_code, r.json()) == (400, {"detail": "bad param values : communityId, clusterId"})


async def test_ingest_and_search_logs(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(monitoring_app, company_id)
    c = monitoring_client
    device = internal_headers(company_id, "device")
    op = internal_headers(company_id, "operator")
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    records = [
        log("apis-main", "INFO", f"uri : /get {i}", unit=f"E00{1 + i % 2}", at=t0 + timedelta(seconds=i))
        for i in range(6)
    ] + [log("apis-ccc", "SEVERE", "ccc down", at=t0 + timedelta(seconds=30), logger=None)]
    r = await c.post("/api/ingest/logs", json={"logs": records}, headers=device)
    assert (r.status_code, r.json()) == (200, {"received": 7})

    async def search(**params: Any) -> dict[str, Any]:
        r = await c.get("/api/monitoring/logs", params={**reg.cc(), **params}, headers=op)
        assert r.status_code == 200, r.text
        return dict(r.json())

    page = await search()
    assert [i["message"] for i in page["items"]] == ["ccc down", *(f"uri : /get {i}" for i in range(5, -1, -1))]
    assert page["has_more"] is False and page["limit"] == 50 and page["offset"] == 0
    assert page["items"][0] == {
        "communityId": "oss_community",
        "clusterId": "oss_cluster",
        "programId": "apis-ccc",
        "datetime": (t0 + timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "loglevel": "SEVERE",
        "message": "ccc down",
    }
    assert [i["message"] for i in (await search(unitId="E002"))["items"]] == [
        "uri : /get 5",
        "uri : /get 3",
        "uri : /get 1",
    ]
    assert [i["programId"] for i in (await search(loglevel="SEVERE"))["items"]] == ["apis-ccc"]
    assert len((await search(programId="apis-main"))["items"]) == 6
    window = await search(
        datetimeFrom=(t0 + timedelta(seconds=2)).isoformat(), datetimeTo=(t0 + timedelta(seconds=4)).isoformat()
    )
    assert [i["message"] for i in window["items"]] == ["uri : /get 3", "uri : /get 2"]
    paged = await search(limit=2, offset=2)
    assert [i["message"] for i in paged["items"]] == ["uri : /get 4", "uri : /get 3"] and paged["has_more"] is True
    r = await c.get("/api/monitoring/logs", params={**reg.cc(), "loglevel": "LOUD"}, headers=op)
    assert r.status_code == 422


async def test_a_bad_batch_writes_nothing_and_names_every_offender(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(monitoring_app, company_id)
    c = monitoring_client
    device = internal_headers(company_id, "device")
    now = utcnow()
    batch = [
        log("apis-main", "INFO", "fine", unit="E001"),
        log("apis-main", "INFO", "unknown cluster", cluster="elsewhere"),
        log("apis-main", "INFO", "too old", at=now - timedelta(days=400)),
        log("apis-main", "INFO", "future", at=now + timedelta(days=3)),
    ]
    r = await c.post("/api/ingest/logs", json={"logs": batch}, headers=device)
    assert r.status_code == 422, r.text
    assert [(e["loc"], e["msg"]) for e in r.json()["detail"]] == [
        (["body", "logs", 1, "clusterId"], "unknown communityId/clusterId oss_community/elsewhere"),
        (["body", "logs", 2, "datetime"], "older than the log retention (365 days)"),
        (["body", "logs", 3, "datetime"], "in the future (check the clock)"),
    ]
    for bad in (
        {"logs": []},
        {"logs": [{**batch[0], "loglevel": "LOUD"}]},
        {"logs": [{**batch[0], "datetime": "2026-01-01T00:00:00"}]},
        {"logs": [{**batch[0], "extra": 1}]},
        {"logs": [{**batch[0], "message": "nul\u0000"}]},
        {"logs": [batch[0]] * 1001},
    ):
        r = await c.post("/api/ingest/logs", json=bad, headers=device)
        assert r.status_code == 422, (bad, r.text)
    assert (
        await c.get("/api/monitoring/logs", params=reg.cc(), headers=internal_headers(company_id, "operator"))
    ).json()["items"] == []
    r = await c.post("/api/ingest/logs", json={"logs": batch[:1]}, headers=internal_headers(company_id, "member"))
    assert r.status_code == 403


async def test_a_late_record_makes_its_days_partition(
    monitoring_app: FastAPI, monitoring_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """A record of a day without a partition (inside the retention) is stored: the write makes it."""
    reg = await register(monitoring_app, company_id)
    late = utcnow() - timedelta(days=200, hours=company_id % 24)
    r = await monitoring_client.post(
        "/api/ingest/logs",
        json={"logs": [log("apis-log", "WARNING", "late", at=late)]},
        headers=internal_headers(company_id, "device"),
    )
    assert (r.status_code, r.json()) == (200, {"received": 1})
    page = (
        await monitoring_client.get(
            "/api/monitoring/logs",
            params={**reg.cc(), "datetimeTo": (late + timedelta(seconds=1)).isoformat()},
            headers=internal_headers(company_id, "operator"),
        )
    ).json()
    assert [i["message"] for i in page["items"]] == ["late"]


async def test_jobs_inactive_by_default_is_a_setting(monitoring_app: FastAPI, company_id: int) -> None:
    from gridcommons.db import unit_of_work
    from monitoring_service.jobs import service
    from monitoring_service.jobs.rules import JOBS

    reg = await register(monitoring_app, company_id)
    off = settings(jobs_active_by_default=False)
    async with unit_of_work(monitoring_app.state.sessionmaker) as session:
        ref = await monitoring_app.state.registry_lookup.cluster(session, company_id, reg.community, reg.cluster)
        assert ref is not None
        assert [j["isActive"] for j in await service.job_list(session, ref, off)] == [False] * 6
        await service.set_active(session, ref, JOBS["apis_log_severe"], True)
        assert [j["isActive"] for j in await service.job_list(session, ref, off)] == [False] * 5 + [True]
