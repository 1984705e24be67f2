"""The Modbus poller against real simulated meters (pymodbus servers on loopback): readings in the store,
a host that stops answering and comes back, a counter that resets, one host polled by one of two workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from metering_helpers import all_readings, outbox_events
from meters_helpers import add_member, create_host, create_location, create_model, user_headers

from gridcommons.db import make_engine
from metering_service.modbus.poller import ModbusPoller
from metering_service.modbus.settings import PollerSettings
from metering_service.modbus.simulator import SimulatedMeter
from metering_service.settings import MeteringSettings

FAST = PollerSettings(refresh_seconds=0.3, timeout_seconds=0.5, backoff_max_seconds=1.0)


@pytest.fixture
async def meters() -> AsyncIterator[Callable[[str], Awaitable[SimulatedMeter]]]:
    started: list[SimulatedMeter] = []

    async def start(model: str = "sdm630") -> SimulatedMeter:
        m = SimulatedMeter(model=model)
        await m.start()
        started.append(m)
        return m

    yield start
    for m in started:
        await m.stop()


@pytest.fixture
async def run_poller() -> AsyncIterator[Callable[..., Awaitable[ModbusPoller]]]:
    engine = make_engine(MeteringSettings().infra, "metering-poller-test")
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(settings: PollerSettings = FAST) -> ModbusPoller:
        poller = ModbusPoller(engine, settings)
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(poller.run(stop))))
        return poller

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 10)
    await engine.dispose()


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def _host_with(
    c: httpx.AsyncClient, internal_headers: Any, db: asyncpg.Connection, company_id: int, port: int,
    measurements: list[str], model: str = "sdm630", meter: int | None = None, number: str = "1",
) -> tuple[dict[str, Any], dict[str, int], int]:  # fmt: skip
    admin = internal_headers(company_id, "admin")
    user_id = await add_member(db, company_id)
    meter = meter or await create_model(c, admin, model)
    location = await create_location(c, admin, user_id, number=number)
    host = await create_host(c, admin, user=user_id, location=location, meter=meter, port=port, poll_interval_seconds=1)
    me = user_headers(internal_headers, company_id, user_id)
    r = await c.post(f"/user/hosts/{host['id']}/measurements", json={"measurements": measurements}, headers=me)
    assert r.status_code == 201, r.text
    return host, {a["measurement"]: a["series_id"] for a in r.json()}, meter


async def test_poller_reads_into_the_store(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection, meters, run_poller
) -> None:
    c = metering_client
    meter = await meters("sdm630")
    host, series, _ = await _host_with(
        c,
        internal_headers,
        db,
        company_id,
        meter.port,
        ["active_power", "voltage_l1", "voltage_l2", "active_energy_consumed"],
    )
    ops = internal_headers(company_id, "operator")
    poller = await run_poller()
    await until(lambda: _count(c, ops, series["active_energy_consumed"], 3))
    assert host["id"] in poller.owned()
    power = await all_readings(c, ops, series["active_power"])
    volts = await all_readings(c, ops, series["voltage_l1"])
    energy = await all_readings(c, ops, series["active_energy_consumed"])
    assert all(100 <= Decimal(r["value"]) <= 3200 for r in power)
    assert all(Decimal("227") <= Decimal(r["value"]) <= Decimal("233") for r in volts)
    values = [Decimal(r["value"]) for r in energy]
    assert values == sorted(values) and values[0] >= 1000  # a monotonic counter, decoded MSW first
    # registers read in bulk: voltages L1+L2 (0x0000..0x0003) are one request, power one, energy one
    polls = len(energy)
    assert meter.requests >= 3 * polls and meter.requests <= 3 * (polls + 1)
    # one reading of every series per poll, stamped with the read time, one interval apart
    times = [r["time"] for r in energy]
    assert len(set(times)) == len(times)
    rows = await db.fetch("SELECT status, status_reason, last_polled_at FROM metering.hosts WHERE id = $1", host["id"])
    assert rows[0]["status"] == "ok" and rows[0]["status_reason"] is None and rows[0]["last_polled_at"] is not None
    me = (await c.get("/admin/hosts", headers=internal_headers(company_id, "admin"))).json()
    assert me[0]["status"] == "ok"
    events = await outbox_events(db, company_id, "org.gridcommons.metering.host-status.changed")
    assert [(e["key"], e["data"]["status"]) for e in events] == [(str(host["id"]), "ok")]
    recorded = await outbox_events(db, company_id, "org.gridcommons.metering.readings.recorded")
    assert {e["data"]["series_id"] for e in recorded} == set(series.values())


async def _count(c: httpx.AsyncClient, headers: dict[str, str], series_id: int, n: int) -> bool:
    return len(await all_readings(c, headers, series_id)) >= n


async def _status(db: asyncpg.Connection, host_id: int) -> asyncpg.Record:
    return await db.fetchrow("SELECT status, status_reason FROM metering.hosts WHERE id = $1", host_id)


async def test_host_stops_answering_and_comes_back(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection, meters, run_poller
) -> None:
    c = metering_client
    ops = internal_headers(company_id, "operator")
    silent, steady = await meters("sdm120"), await meters("sdm120")
    host, series, meter_id = await _host_with(
        c, internal_headers, db, company_id, silent.port, ["active_power", "active_energy_consumed"], model="sdm120"
    )
    other, other_series, _ = await _host_with(
        c, internal_headers, db, company_id, steady.port, ["active_power"], meter=meter_id, number="2"
    )
    await run_poller()
    await until(lambda: _count(c, ops, series["active_power"], 2))
    silent.silence()
    stale = await until(lambda: _stale(db, host["id"]))
    assert "No response" in stale["status_reason"] or "timed out" in stale["status_reason"].lower(), stale
    # the other host is not delayed meanwhile: it keeps its one-second grid
    before = len(await all_readings(c, ops, other_series["active_power"]))
    await asyncio.sleep(3)
    assert len(await all_readings(c, ops, other_series["active_power"])) >= before + 2
    listed = {h["id"]: h for h in (await c.get("/admin/hosts", headers=internal_headers(company_id, "admin"))).json()}
    assert listed[host["id"]]["status"] == "stale" and listed[host["id"]]["status_reason"] == stale["status_reason"]
    assert listed[other["id"]]["status"] == "ok"
    # back: ok again; then its energy counter resets (a replaced meter) and the lower value is stored as read
    silent.resume()
    silent.reset_energy()
    await until(lambda: _ok(db, host["id"]))
    energy = [Decimal(r["value"]) for r in await all_readings(c, ops, series["active_energy_consumed"])]
    await until(lambda: _count(c, ops, series["active_energy_consumed"], len(energy) + 1))
    energy = [Decimal(r["value"]) for r in await all_readings(c, ops, series["active_energy_consumed"])]
    assert energy[0] >= 1000 and energy[-1] < 1  # kept as read: the rollups see the reset
    events = await outbox_events(db, company_id, "org.gridcommons.metering.host-status.changed")
    mine = [(e["data"]["status"], e["data"]["reason"] is None) for e in events if e["key"] == str(host["id"])]
    assert mine == [("ok", True), ("stale", False), ("ok", True)]  # one event per change, not per poll


async def _stale(db: asyncpg.Connection, host_id: int) -> asyncpg.Record | None:
    row = await _status(db, host_id)
    return row if row["status"] == "stale" else None


async def _ok(db: asyncpg.Connection, host_id: int) -> bool:
    return (await _status(db, host_id))["status"] == "ok"


async def test_unreachable_host_is_stale_with_the_reason(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection, meters, run_poller
) -> None:
    gone = await meters("sdm120")
    port = gone.port
    await gone.stop()  # nothing listens there any more
    host, _, _ = await _host_with(
        metering_client, internal_headers, db, company_id, port, ["active_power"], model="sdm120"
    )
    await run_poller()
    stale = await until(lambda: _stale(db, host["id"]))
    assert "connect" in stale["status_reason"].lower(), stale


async def test_one_host_polled_once_with_two_workers(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection, meters, run_poller
) -> None:
    c = metering_client
    ops = internal_headers(company_id, "operator")
    meter_a, meter_b = await meters("sdm120"), await meters("sdm120")
    host_a, series_a, meter_id = await _host_with(
        c, internal_headers, db, company_id, meter_a.port, ["active_power"], model="sdm120"
    )
    host_b, series_b, _ = await _host_with(
        c, internal_headers, db, company_id, meter_b.port, ["active_power"], meter=meter_id, number="2"
    )
    first, second = await run_poller(), await run_poller()
    await until(lambda: _count(c, ops, series_a["active_power"], 4))
    await until(lambda: _count(c, ops, series_b["active_power"], 4))
    mine = {host_a["id"], host_b["id"]}
    owners = [set(first.owned()) & mine, set(second.owned()) & mine]
    assert owners[0].isdisjoint(owners[1]) and owners[0] | owners[1] == mine
    for meter, series_id in ((meter_a, series_a["active_power"]), (meter_b, series_b["active_power"])):
        readings = await all_readings(c, ops, series_id)
        # one request per poll and one reading per request: nobody else polled the meter
        assert abs(meter.requests - len(readings)) <= 1
        stamps = [r["time"] for r in readings]
        assert len(set(stamps)) == len(stamps)
