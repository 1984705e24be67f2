"""Downtime derivation: the reference's rules on crafted telemetry (operation-mode changes, gaps, a gap of
exactly the tolerance, missing modes), duplicates and out-of-order delivery, a hypothesis test against a
plain reference computation over random sequences delivered shuffled in random batches (the stored
downtimes and the deals.downtime.v1 events), the silence check with a controllable clock (availability
windows, retirement, delayed samples) and its single runner (the advisory lock)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import orjson
from downtime_helpers import (
    TOLERANCE,
    Cluster,
    at,
    feed,
    reference_downtimes,
    register_units,
    replay_events,
    sample,
    stored,
)
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from deal_service.downtime import events as downtime_events
from deal_service.downtime.repository import SILENCE_LOCK
from deal_service.downtime.service import Sample, derive
from deal_service.downtime.workers import SilenceCheck
from deal_service.settings import DealSettings
from gridcommons.testing.plugin import Stack

AUTO, HETERO, STOP = "autonomous", "heteronomous", "stop"


async def downtime_events_of(stack: Stack, company_id: int) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT key, payload FROM deal.outbox WHERE topic = $1 AND payload->>'companyid' = $2 ORDER BY seq",
            downtime_events.TOPIC,
            str(company_id),
        )
    finally:
        await conn.close()
    return [{"key": r["key"], **orjson.loads(r["payload"])} for r in rows]


# ----------------------------------------------------------------------------- the rules, pure
def test_derive_on_crafted_sequences() -> None:
    def run(seq: list[tuple[float, bool]]) -> list[tuple[float, float | None]]:
        closed, active = derive([Sample(at(t), d) for t, d in seq], TOLERANCE)
        out: list[tuple[float, float | None]] = [
            ((r.down - at(0)).total_seconds(), None if r.recovery is None else (r.recovery - at(0)).total_seconds())
            for r in closed
        ]
        if active is not None:
            out.append(((active - at(0)).total_seconds(), None))
        return out

    assert run([(0, False), (30, False), (60, False)]) == []
    # operation mode changes: down from the first non-autonomous sample to the next autonomous one
    assert run([(0, False), (30, True), (60, True), (90, False)]) == [(30, 90)]
    # a data gap: down from the sample before the gap to the one after
    assert run([(0, False), (200, False), (230, False)]) == [(0, 200)]
    # exactly the tolerance is a data loss; just under it is not
    assert run([(0, False), (120, False)]) == [(0, 120)]
    assert run([(0, False), (119.999, False)]) == []
    # a gap followed by a down sample: one downtime from before the gap
    assert run([(0, False), (200, True), (230, False)]) == [(0, 230)]
    # down at the end stays open; the very first sample may be down, never a data loss
    assert run([(0, True)]) == [(0, None)]
    assert run([(0, False), (30, True)]) == [(30, None)]
    # down, up for an instant, then a gap: two downtimes touching at the up sample (as the original)
    assert run([(0, True), (30, False), (300, False)]) == [(0, 30), (30, 300)]


def test_missing_or_other_modes_count_as_down() -> None:
    cl = Cluster(1, "c", "k", {"E1": 1})
    assert not sample(cl, "E1", 0, AUTO).down
    for mode in (HETERO, STOP, "manual", None, "Autonomous"):
        assert sample(cl, "E1", 0, mode).down, mode


# ----------------------------------------------------------------------------- through the database
async def test_crafted_sequences_in_order_late_and_repeated(deal_app: FastAPI, company_id: int, stack: Stack) -> None:
    cl = await register_units(deal_app, company_id, ["E1", "E2", "E3"])
    e1, e2, e3 = (cl.units[u] for u in ("E1", "E2", "E3"))
    # E1: mode changes in order, one sample at a time
    for t, mode in [(0, AUTO), (30, AUTO), (60, HETERO), (90, STOP), (120, AUTO), (150, AUTO)]:
        await feed(deal_app, company_id, [sample(cl, "E1", t, mode)])
    assert await stored(deal_app, company_id, e1) == [(at(60), at(120))]
    # E2: a gap, then a down sample left open
    await feed(deal_app, company_id, [sample(cl, "E2", t) for t in (0, 30, 300, 330)])
    await feed(deal_app, company_id, [sample(cl, "E2", 360, HETERO)])
    assert await stored(deal_app, company_id, e2) == [(at(30), at(300)), (at(360), None)]
    # E3: everything late and repeated: the newest first, then older ones, repeats, a duplicate instant
    # whose second copy is down (the instant counts as down)
    await feed(deal_app, company_id, [sample(cl, "E3", 600), sample(cl, "E3", 630)])
    assert await stored(deal_app, company_id, e3) == []
    await feed(deal_app, company_id, [sample(cl, "E3", 0)])  # a gap 0 → 600 appears behind
    assert await stored(deal_app, company_id, e3) == [(at(0), at(600))]
    await feed(deal_app, company_id, [sample(cl, "E3", t) for t in (30, 60, 90, 120, 150, 180, 210, 240, 270, 300)])
    assert await stored(deal_app, company_id, e3) == [(at(300), at(600))]
    assert await feed(deal_app, company_id, [sample(cl, "E3", 60), sample(cl, "E3", 630)]) == 0  # repeats
    await feed(deal_app, company_id, [sample(cl, "E3", 90, HETERO)])  # the instant 90 turns down
    assert await stored(deal_app, company_id, e3) == [(at(90), at(120)), (at(300), at(600))]
    assert await feed(deal_app, company_id, [sample(cl, "E3", 90, AUTO)]) == 0  # down wins at one instant
    # a late sample inside a data gap splits it: [300, 600] becomes [300, 450] and [450, 600] ... then gone
    await feed(deal_app, company_id, [sample(cl, "E3", 450)])
    assert await stored(deal_app, company_id, e3) == [(at(90), at(120)), (at(300), at(450)), (at(450), at(600))]
    await feed(deal_app, company_id, [sample(cl, "E3", 360), sample(cl, "E3", 540)])
    assert await stored(deal_app, company_id, e3) == [(at(90), at(120))]
    # the events tell a consumer the same history
    held = replay_events(await downtime_events_of(stack, company_id))
    for unit_id in (e1, e2, e3):
        assert sorted(held.get(unit_id, {}).items()) == await stored(deal_app, company_id, unit_id)
    kinds = [e["type"] for e in await downtime_events_of(stack, company_id) if e["key"] == str(e1)]
    assert kinds == [downtime_events.OPENED, downtime_events.CLOSED]
    for e in await downtime_events_of(stack, company_id):
        downtime_events.DowntimeChangedV1.model_validate(e["data"])  # the hand-built data fits its model


_hyp_companies = iter(range(910_000_000, 920_000_000))


_sequence = st.lists(
    st.tuples(
        st.integers(0, 40).map(lambda k: k * 30.0),  # a 20-minute grid of 30 s slots ...
        st.sampled_from([AUTO, AUTO, AUTO, HETERO, None]),
    ),
    min_size=2,
    max_size=30,
).map(lambda xs: [(t, m) for t, m in xs if t % 150 != 60])  # ... with holes, so gaps of ≥ 120 s occur


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(sequences=st.lists(_sequence, min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1))
async def test_matches_the_reference_whatever_the_delivery(
    deal_app: FastAPI, stack: Stack, sequences: list[list[tuple[float, str | None]]], seed: int
) -> None:
    """Random sequences of up to three units (repeats and duplicate instants included), delivered shuffled
    and interleaved, in random batches, some redelivered: each unit's stored downtimes and the events'
    history equal the reference over its sorted samples."""
    company_id = next(_hyp_companies)
    codes = [f"U{i}" for i in range(len(sequences))]
    cl = await register_units(deal_app, company_id, codes)
    rng = random.Random(seed)
    sent = [(code, t, m) for code, seq in zip(codes, sequences, strict=True) for t, m in seq]
    deliveries = sent + rng.sample(sent, k=rng.randint(0, len(sent)))  # some delivered twice
    rng.shuffle(deliveries)
    while deliveries:
        k = rng.randint(1, 8)
        batch, deliveries = deliveries[:k], deliveries[k:]
        await feed(deal_app, company_id, [sample(cl, code, t, m) for code, t, m in batch])
    held = replay_events(await downtime_events_of(stack, company_id))
    for code, seq in zip(codes, sequences, strict=True):
        want = reference_downtimes([(at(t), m != AUTO) for t, m in seq])
        unit_id = cl.units[code]
        assert await stored(deal_app, company_id, unit_id) == want
        assert sorted(held.get(unit_id, {}).items()) == want


# ----------------------------------------------------------------------------- the silence check
def checker(app: FastAPI) -> SilenceCheck:
    return SilenceCheck(DealSettings(), app.state.sessionmaker)


def mine(opened: list[tuple[int, int]] | None, company_id: int) -> set[int]:
    assert opened is not None
    return {unit for company, unit in opened if company == company_id}


async def test_silence_opens_down_and_data_decides_when_it_resumes(
    deal_app: FastAPI, company_id: int, stack: Stack
) -> None:
    cl = await register_units(
        deal_app,
        company_id,
        {
            "A": (None, None),  # silent, then a gap closes it
            "B": (None, None),  # silent, then a delayed sample within the tolerance removes it
            "C": (None, None),  # silent, late samples keep it
            "D": (at(10_000), None),  # not yet available: not judged
            "E": (None, at(100)),  # no longer available: not judged
            "F": (None, None),  # retired: not judged
        },
        retired={"F": at(50)},
    )
    u = cl.units
    for code in "ABCDEF":
        await feed(deal_app, company_id, [sample(cl, code, 0), sample(cl, code, 30)])
    check = checker(deal_app)
    assert mine(await check.check_once(now=at(30 + 119)), company_id) == set()
    assert mine(await check.check_once(now=at(30 + 120)), company_id) == {u["A"], u["B"], u["C"]}
    assert mine(await check.check_once(now=at(30 + 500)), company_id) == set()  # opened once
    for code in "ABC":
        assert await stored(deal_app, company_id, u[code]) == [(at(30), None)]
    for code in "DEF":
        assert await stored(deal_app, company_id, u[code]) == []
    await feed(deal_app, company_id, [sample(cl, "A", 400)])  # data resumes after the gap: closed there
    assert await stored(deal_app, company_id, u["A"]) == [(at(30), at(400))]
    await feed(deal_app, company_id, [sample(cl, "B", 90)])  # it was only delayed: no downtime
    assert await stored(deal_app, company_id, u["B"]) == []
    await feed(deal_app, company_id, [sample(cl, "C", 15)])  # late: C is still silent since 30
    assert await stored(deal_app, company_id, u["C"]) == [(at(30), None)]
    await feed(deal_app, company_id, [sample(cl, "C", 200, HETERO)])  # the gap, then down: one downtime, open
    assert await stored(deal_app, company_id, u["C"]) == [(at(30), None)]
    await feed(deal_app, company_id, [sample(cl, "C", 230)])
    assert await stored(deal_app, company_id, u["C"]) == [(at(30), at(230))]
    # B silent again from 90; a pass when it is due opens it once more
    assert mine(await check.check_once(now=at(90 + 120)), company_id) == {u["B"]}
    events = [e for e in await downtime_events_of(stack, company_id)]
    by_unit: dict[str, list[str]] = {}
    for e in events:
        by_unit.setdefault(e["key"], []).append(e["type"].rsplit(".", 1)[1])
    assert by_unit[str(u["A"])] == ["opened", "closed"]
    assert by_unit[str(u["B"])] == ["opened", "revised", "opened"]
    assert by_unit[str(u["C"])] == ["opened", "closed"]
    held = replay_events(events)
    for code in "ABC":
        assert sorted(held[u[code]].items()) == await stored(deal_app, company_id, u[code])


async def test_one_silence_check_at_a_time(deal_app: FastAPI, company_id: int) -> None:
    """While another replica holds the lock, a pass does nothing; passes started together open each silent
    unit once."""
    cl = await register_units(deal_app, company_id, [f"S{i}" for i in range(20)])
    for code in cl.units:
        await feed(deal_app, company_id, [sample(cl, code, 0)])
    now = at(1_000)
    sessionmaker = deal_app.state.sessionmaker
    async with sessionmaker() as holder:
        async with holder.begin():
            await holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SILENCE_LOCK})
            assert await checker(deal_app).check_once(now=now) is None
            for code in cl.units:
                assert await stored(deal_app, company_id, cl.units[code]) == []
    results = await asyncio.gather(*(checker(deal_app).check_once(now=now) for _ in range(4)))
    opened = [unit for r in results if r is not None for company, unit in r if company == company_id]
    assert sorted(opened) == sorted(cl.units.values())  # each once, whoever ran
    for code in cl.units:
        assert await stored(deal_app, company_id, cl.units[code]) == [(at(0), None)]


async def test_late_samples_before_the_floor_are_dropped(deal_app: FastAPI, company_id: int) -> None:
    """Pruning keeps each unit's latest sample before the retention cutoff as its floor; a later sample
    still re-derives exactly, one at or before the floor is too late and changes nothing."""
    from deal_service.downtime import repository
    from gridcommons.db import unit_of_work

    cl = await register_units(deal_app, company_id, ["P"])
    unit_id = cl.units["P"]
    await feed(deal_app, company_id, [sample(cl, "P", t) for t in (0, 30, 60, 400, 430)])
    assert await stored(deal_app, company_id, unit_id) == [(at(60), at(400))]
    async with unit_of_work(deal_app.state.sessionmaker) as session:
        assert await repository.prune_samples(session, at(100), 100_000) >= 2  # 0 and 30 go, 60 stays
    await feed(deal_app, company_id, [sample(cl, "P", 10, HETERO)])  # before the floor: dropped
    assert await stored(deal_app, company_id, unit_id) == [(at(60), at(400))]
    await feed(deal_app, company_id, [sample(cl, "P", 200)])  # after it: re-derived
    assert await stored(deal_app, company_id, unit_id) == [(at(60), at(200)), (at(200), at(400))]


async def test_tolerance_is_a_setting(deal_app: FastAPI, company_id: int) -> None:
    """DEAL_DATA_LOSS_TOLERANCE_SEC (120 s by default, the spec's value) drives the silence check too."""
    assert DealSettings().data_loss_tolerance_sec == 120
    cl = await register_units(deal_app, company_id, ["T"])
    await feed(deal_app, company_id, [sample(cl, "T", 0)])
    patient = SilenceCheck(DealSettings(data_loss_tolerance_sec=600), deal_app.state.sessionmaker)
    assert mine(await patient.check_once(now=at(599)), company_id) == set()
    assert mine(await patient.check_once(now=at(600)), company_id) == {cl.units["T"]}
    assert patient.health()["ready"]


def test_the_worker_runs_the_silence_check_unless_turned_off(stack: Stack) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from deal_service.workers import build

    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never connected here
    names = [w.name for w in build(DealSettings(), engine)]
    assert "deal-service.downtime-silence" in names
    assert "deal-service.downtime-silence" not in [
        w.name for w in build(DealSettings(downtime_check_interval_sec=0), engine)
    ]
