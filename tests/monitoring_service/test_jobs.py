"""The six job types on crafted logs (seed 004 §5 reference): NG opens one failure per key with the
reference's description, the next OK closes it, an NG on an open key changes nothing; the
blocked-thread rule, the GridMaster hand-over exception, unit data as apis-ccc's sign of life; two
runners racing open one failure; a pass runs once across replicas and survives a failing cluster;
deactivating a job or retiring a unit closes its failures with the reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from monitoring_helpers import change_unit, failure_events, judge, log, register, settings, store_logs
from sqlalchemy import text

from gridcommons.db import unit_of_work
from gridcommons.testing.plugin import Stack
from gridcommons.timeutil import utcnow
from monitoring_service.jobs import repository, service
from monitoring_service.jobs.rules import JOBS, SevereLine, blocked_too_long, severe_description, severe_line

BLOCKED = "io.vertx.core.impl.BlockedThreadChecker"


def blocked(ms: int) -> str:
    return f"Thread Thread[vert.x-eventloop-thread-1,5,main] has been blocked for {ms} ms, time limit is 2000 ms"


async def open_keys(app: FastAPI, company_id: int) -> dict[tuple[str, str | None, str | None], str]:
    async with unit_of_work(app.state.sessionmaker) as session:
        rows = await session.execute(
            text(
                "SELECT type, program_id, unit_id, description FROM monitoring.failures "
                "WHERE company_id = :c AND closed IS NULL"
            ),
            {"c": company_id},
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows.all()}


async def closed_reasons(app: FastAPI, company_id: int) -> list[tuple[str, str | None, str]]:
    async with unit_of_work(app.state.sessionmaker) as session:
        rows = await session.execute(
            text(
                "SELECT type, unit_id, close_reason FROM monitoring.failures "
                "WHERE company_id = :c AND closed IS NOT NULL ORDER BY id"
            ),
            {"c": company_id},
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def test_apis_main_alive_per_unit_with_the_blocked_thread_rule(
    monitoring_app: FastAPI, company_id: int, stack: Stack
) -> None:
    reg = await register(monitoring_app, company_id)
    await store_logs(
        monitoring_app,
        company_id,
        [
            log("apis-main", "INFO", "uri : http://0.0.0.0:4390/get", unit="E001"),
            # E002: nothing; E003: alive but a thread blocked over the limit; E004: blocked exactly at it
            log("apis-main", "INFO", "uri : http://0.0.0.0:4390/get", unit="E003"),
            log("apis-main", "WARNING", blocked(300_001), unit="E003", logger=BLOCKED),
            log("apis-main", "INFO", "uri : http://0.0.0.0:4390/get", unit="E004"),
            log("apis-main", "WARNING", blocked(300_000), unit="E004", logger=BLOCKED),
            # not proof of life: another level, another program, a message not at the start
            log("apis-main", "WARNING", "uri : x", unit="E002"),
            log("apis-ccc", "INFO", "uri : x", unit="E002"),
            log("apis-main", "INFO", "the uri : x", unit="E002"),
        ],
    )
    assert await judge(monitoring_app, reg, "apis_main_alive") == (2, 0)
    assert await open_keys(monitoring_app, company_id) == {
        ("apis_main_alive", "apis-main", "E002"): "The program may not be running.",
        ("apis_main_alive", "apis-main", "E003"): "The program may not be running.",
    }
    # the same NG again: nothing opened twice
    assert await judge(monitoring_app, reg, "apis_main_alive") == (0, 0)
    # E002 comes back: its failure closes; E003 stays open
    await store_logs(monitoring_app, company_id, [log("apis-main", "INFO", "uri : /get", unit="E002")])
    assert await judge(monitoring_app, reg, "apis_main_alive") == (0, 1)
    assert set(await open_keys(monitoring_app, company_id)) == {("apis_main_alive", "apis-main", "E003")}
    events = await failure_events(stack, company_id)
    assert [(e["type"].rsplit(".", 1)[1], e["data"]["unit_id"], e["data"]["close_reason"]) for e in events] == [
        ("detected", "E002", None),
        ("detected", "E003", None),
        ("closed", "E002", "ok"),
    ]
    assert {e["key"] for e in events} == {str(e["data"]["failure_id"]) for e in events}
    first = events[0]["data"]
    assert first["status"] == "detected" and first["closed"] is None and first["program_id"] == "apis-main"
    assert events[2]["data"]["status"] == "closed" and events[2]["data"]["closed"] is not None


async def test_apis_ccc_alive_takes_its_lines_or_fresh_unit_data(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    assert await judge(monitoring_app, reg, "apis_ccc_alive") == (1, 0)
    assert await open_keys(monitoring_app, company_id) == {
        ("apis_ccc_alive", "apis-ccc", None): "The program may not be running."
    }
    await store_logs(monitoring_app, company_id, [log("apis-ccc", "INFO", "reporting unit data to : 10.0.0.1")])
    assert await judge(monitoring_app, reg, "apis_ccc_alive") == (0, 1)
    # a blocked thread over the limit is NG even while it reports
    await store_logs(monitoring_app, company_id, [log("apis-ccc", "WARNING", blocked(400_000), logger=BLOCKED)])
    assert await judge(monitoring_app, reg, "apis_ccc_alive") == (1, 0)
    # a minute later (window of 60 s): no lines; unit data measured within the window keeps it alive
    later = utcnow() + timedelta(seconds=90)
    async with unit_of_work(monitoring_app.state.sessionmaker) as session:
        await repository.record_unit_data(session, [(*reg.key, later - timedelta(seconds=20))])
    assert await judge(monitoring_app, reg, "apis_ccc_alive", now=later) == (0, 1)
    # stale unit data (older than the window) is no sign of life
    assert await judge(monitoring_app, reg, "apis_ccc_alive", now=later + timedelta(seconds=120)) == (1, 0)


async def test_grid_master_alive_per_cluster(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    await store_logs(monitoring_app, company_id, [log("apis-main", "INFO", "gridMaster ok", unit="E001")])
    assert await judge(monitoring_app, reg, "grid_master_alive") == (1, 0)
    assert await open_keys(monitoring_app, company_id) == {
        ("grid_master_alive", None, None): "The GridMaster service may not be running."
    }
    # any unit's apis-main may be the GridMaster; a blocked thread is not checked for it
    await store_logs(
        monitoring_app,
        company_id,
        [
            log("apis-main", "INFO", "gridMasterUnitId : E003", unit="E003"),
            log("apis-main", "WARNING", blocked(900_000), unit="E003", logger=BLOCKED),
        ],
    )
    assert await judge(monitoring_app, reg, "grid_master_alive") == (0, 1)


async def test_apis_main_severe_describes_the_windows_lines(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    t0 = utcnow().replace(microsecond=0) - timedelta(seconds=20)
    await store_logs(
        monitoring_app,
        company_id,
        [
            log(
                "apis-main", "SEVERE", "second [ jp.co.sony.A.b(A.java:12) ]", unit="E001", at=t0 + timedelta(seconds=2)
            ),
            log("apis-main", "SEVERE", "event bus down", unit="E001", at=t0, logger="io.vertx.core.eventbus.X"),
            log("apis-main", "SEVERE", "cluster split", unit="E002", at=t0, logger="com.hazelcast.cluster.Y"),
            log("apis-main", "WARNING", "not severe", unit="E003", at=t0),
            log("apis-ccc", "SEVERE", "other program", at=t0),
        ],
    )
    assert await judge(monitoring_app, reg, "apis_main_severe") == (2, 0)
    found = await open_keys(monitoring_app, company_id)
    assert found[("apis_main_severe", "apis-main", "E001")] == (
        f"There seems to be a problem.\n\n[{t0}] Vert.x failure ; event bus down\n[{t0 + timedelta(seconds=2)}] second"
    )
    assert found[("apis_main_severe", "apis-main", "E002")] == (
        f"There seems to be a problem.\n\n[{t0}] Clustering Manager failure ; cluster split"
    )
    # a window later, no SEVERE lines: both close
    assert await judge(monitoring_app, reg, "apis_main_severe", now=utcnow() + timedelta(seconds=120)) == (0, 2)


async def test_apis_ccc_severe_expects_the_grid_master_hand_over(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    hand_over = [
        log("apis-ccc", "SEVERE", "(NO_HANDLERS,-1) No handlers for address apis.GridMaster.data.all"),
        log(
            "apis-ccc",
            "SEVERE",
            "(TIMEOUT,-1) Timed out after waiting 10000(ms) for a reply. address: 1, repliedAddress: apis.GridMaster.data.all",
        ),
    ]
    await store_logs(monitoring_app, company_id, hand_over)
    assert await judge(monitoring_app, reg, "apis_ccc_severe") == (0, 0)
    # a line without a message is severe (the original's $not matched it); so is any other SEVERE
    await store_logs(monitoring_app, company_id, [log("apis-ccc", "SEVERE", None)])
    assert await judge(monitoring_app, reg, "apis_ccc_severe") == (1, 0)
    (description,) = (await open_keys(monitoring_app, company_id)).values()
    assert description.startswith("There seems to be a problem.\n\n[") and description.count("\n") == 2


async def test_apis_log_severe(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    await store_logs(monitoring_app, company_id, [log("apis-log", "SEVERE", "mongodb unreachable")])
    assert await judge(monitoring_app, reg, "apis_log_severe") == (1, 0)
    assert set(await open_keys(monitoring_app, company_id)) == {("apis_log_severe", "apis-log", None)}
    assert await judge(monitoring_app, reg, "apis_log_severe", now=utcnow() + timedelta(seconds=300)) == (0, 1)


async def test_a_severe_description_is_capped(monitoring_app: FastAPI, company_id: int) -> None:
    reg = await register(monitoring_app, company_id)
    await store_logs(monitoring_app, company_id, [log("apis-log", "SEVERE", f"line {i}") for i in range(7)])
    assert await judge(monitoring_app, reg, "apis_log_severe", config=settings(description_max_lines=3)) == (1, 0)
    (description,) = (await open_keys(monitoring_app, company_id)).values()
    assert description.count("] line ") == 3 and description.endswith("\n... and 4 more")


def test_severe_lines_in_a_zone_across_both_dst_changes() -> None:
    paris = ZoneInfo("Europe/Paris")
    job = JOBS["apis_log_severe"]
    # 2026-03-29 01:30 UTC is 03:30 CEST (after the spring change); 2026-10-25 00:30 UTC is 02:30 CEST,
    # 01:30 UTC is 02:30 CET (the autumn hour repeats): the offset tells them apart.
    lines = [
        SevereLine(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), None, "a"),
        SevereLine(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), None, "b"),
        SevereLine(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), None, "c"),
        SevereLine(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), None, "d"),
    ]
    assert [severe_line(job, line, paris) for line in lines] == [
        "[2026-03-29 01:30:00+01:00] a",
        "[2026-03-29 03:30:00+02:00] b",
        "[2026-10-25 02:30:00+02:00] c",
        "[2026-10-25 02:30:00+01:00] d",
    ]
    assert (
        severe_description(job, lines[:1], 1, paris) == "There seems to be a problem.\n\n[2026-03-29 01:30:00+01:00] a"
    )


# ----------------------------------------------------------------------------- the blocked-thread rule against a reference
_counter = iter(range(10**9))


async def test_alive_rule_matches_a_reference_over_random_logs(monitoring_app: FastAPI, company_id: int) -> None:
    """Random apis-main lines per unit (levels, loggers, blocked durations around the limit, proof of
    life or not): the SQL verdict equals a plain Python computation of the reference rule."""
    limit = 300_000
    line = st.tuples(
        st.sampled_from(["E001", "E002", "E003"]),
        st.sampled_from(["INFO", "WARNING", "SEVERE"]),
        st.sampled_from([BLOCKED, "jp.co.sony.X"]),
        st.one_of(
            st.integers(min_value=limit - 2, max_value=limit + 2).map(blocked),
            st.integers(min_value=0, max_value=10**12).map(blocked),
            st.sampled_from(["uri : /get", "a uri : /get", "uri :/get", "", "has been blocked for x ms"]),
        ),
    )

    @given(lines=st.lists(line, max_size=12))
    @hsettings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(lines: list[tuple[str, str, str, str]]) -> None:
        asyncio.run_coroutine_threadsafe(run(lines), loop).result()

    async def run(lines: list[tuple[str, str, str, str]]) -> None:
        cluster = f"h{next(_counter)}"
        reg = await register(monitoring_app, company_id, cluster=cluster, units=("E001", "E002", "E003"))
        records = [log("apis-main", lv, msg, unit=u, logger=lg, cluster=cluster) for u, lv, lg, msg in lines]
        if records:
            await store_logs(monitoring_app, company_id, records)
        async with unit_of_work(monitoring_app.state.sessionmaker) as session:
            got = await service.verdict(
                session,
                monitoring_app.state.settings,
                JOBS["apis_main_alive"],
                reg.key,
                ["E001", "E002", "E003"],
                utcnow(),
            )
        expected_ng = set()
        for unit in ("E001", "E002", "E003"):
            mine = [(lv, lg, msg) for u, lv, lg, msg in lines if u == unit]
            alive = any(lv == "INFO" and msg.startswith("uri : ") for lv, _, msg in mine)
            too_long = any(lv == "WARNING" and lg == BLOCKED and blocked_too_long(msg, limit) for lv, lg, msg in mine)
            if not alive or too_long:
                expected_ng.add(unit)
        assert {unit for _, unit, _ in got.ng} == expected_ng
        assert {unit for _, unit in got.ok} == {"E001", "E002", "E003"} - expected_ng

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(check)


# ----------------------------------------------------------------------------- concurrency, passes
async def test_two_runners_racing_open_one_failure(monitoring_app: FastAPI, company_id: int, stack: Stack) -> None:
    reg = await register(monitoring_app, company_id)
    await store_logs(monitoring_app, company_id, [log("apis-log", "SEVERE", "x")])
    results = await asyncio.gather(*(judge(monitoring_app, reg, "apis_log_severe") for _ in range(4)))
    assert sorted(r[0] for r in results) == [0, 0, 0, 1]
    assert len(await open_keys(monitoring_app, company_id)) == 1
    later = utcnow() + timedelta(seconds=300)
    results = await asyncio.gather(*(judge(monitoring_app, reg, "apis_log_severe", now=later) for _ in range(4)))
    assert sorted(r[1] for r in results) == [0, 0, 0, 1]
    kinds = [e["type"].rsplit(".", 1)[1] for e in await failure_events(stack, company_id)]
    assert kinds == ["detected", "closed"]


async def _pass(app: FastAPI, job_type: str, **kw: Any) -> service.PassResult:
    return await service.run_pass(app.state.engine, app.state.sessionmaker, app.state.settings, job_type, **kw)


async def test_a_pass_runs_once_across_replicas(monitoring_app: FastAPI) -> None:
    results = await asyncio.gather(*(_pass(monitoring_app, "apis_log_severe", min_gap_seconds=30) for _ in range(3)))
    assert sum(r.ran for r in results) == 1
    # the lock is free again; within the gap another replica skips, without a gap it runs
    assert not (await _pass(monitoring_app, "apis_log_severe", min_gap_seconds=30)).ran
    assert (await _pass(monitoring_app, "apis_log_severe")).ran


async def test_a_pass_goes_on_past_a_failing_cluster(
    monitoring_app: FastAPI, company_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = await register(monitoring_app, company_id, cluster="broken")
    good = await register(monitoring_app, company_id, cluster="fine")
    real = service.verdict

    async def faulty(session: Any, config: Any, job: Any, key: Any, units: Any, now: Any) -> Any:
        if key == bad.key:
            raise RuntimeError("a cluster that cannot be judged")
        return await real(session, config, job, key, units, now)

    monkeypatch.setattr(service, "verdict", faulty)
    result = await _pass(monitoring_app, "apis_log_severe")
    assert result.ran and bad.key in result.failed_clusters and good.key not in result.failed_clusters
    await store_logs(monitoring_app, company_id, [log("apis-log", "SEVERE", "x", cluster="fine")])
    await _pass(monitoring_app, "apis_log_severe")
    assert set(await open_keys(monitoring_app, company_id)) == {("apis_log_severe", "apis-log", None)}


async def test_retiring_a_unit_or_ending_its_window_closes_its_failures(
    monitoring_app: FastAPI, company_id: int, stack: Stack
) -> None:
    reg = await register(monitoring_app, company_id, units=("E001", "E002", "E003"))
    assert (await _pass(monitoring_app, "apis_main_alive")).ran
    assert len(await open_keys(monitoring_app, company_id)) == 3
    now = utcnow()
    await change_unit(monitoring_app, reg, "E001", retired_at=now - timedelta(seconds=1))
    await change_unit(monitoring_app, reg, "E002", available_to=now - timedelta(seconds=1))
    await _pass(monitoring_app, "apis_main_alive")
    assert set(await open_keys(monitoring_app, company_id)) == {("apis_main_alive", "apis-main", "E003")}
    assert sorted(await closed_reasons(monitoring_app, company_id)) == [
        ("apis_main_alive", "E001", "unit retired"),
        ("apis_main_alive", "E002", "unit retired"),
    ]
    closed = [e["data"] for e in await failure_events(stack, company_id) if e["data"]["status"] == "closed"]
    assert sorted((d["unit_id"], d["close_reason"]) for d in closed) == [
        ("E001", "unit retired"),
        ("E002", "unit retired"),
    ]
    # a unit not available yet is not watched
    await change_unit(monitoring_app, reg, "E003", available_from=now + timedelta(days=1))
    await _pass(monitoring_app, "apis_main_alive")
    assert await open_keys(monitoring_app, company_id) == {}


async def test_an_inactive_job_opens_nothing_and_its_failures_close(
    monitoring_app: FastAPI, company_id: int, stack: Stack
) -> None:
    reg = await register(monitoring_app, company_id)
    await _pass(monitoring_app, "grid_master_alive")
    assert set(await open_keys(monitoring_app, company_id)) == {("grid_master_alive", None, None)}
    async with unit_of_work(monitoring_app.state.sessionmaker) as session:
        await repository.set_active(session, reg.key, "grid_master_alive", False)  # no close: the pass must do it
    await _pass(monitoring_app, "grid_master_alive")
    assert await open_keys(monitoring_app, company_id) == {}
    assert await closed_reasons(monitoring_app, company_id) == [("grid_master_alive", None, "job deactivated")]
    await _pass(monitoring_app, "grid_master_alive")
    assert await open_keys(monitoring_app, company_id) == {}
