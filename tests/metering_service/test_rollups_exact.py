"""Rollups and the energy balance are exact (integers of micro-units, no float): values that float64
gets wrong (a year of 0.1 kWh steps, counters near 10¹² with 3 decimals), averages rounded half-even
once, readings with more than 6 decimals, the range limit, registers of different units in one balance,
and the migration that turned the stored float rollups into integers."""

from __future__ import annotations

import asyncio
import math
import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from metering_helpers import ingest, new_series, z

from gridcommons.db import asyncpg_dsn
from gridcommons.migrations import downgrade, upgrade
from gridcommons.quantity import format_decimal
from gridcommons.testing.migrations import scratch_database
from gridcommons.testing.plugin import Stack
from metering_service.rollups.quarters import MICRO, NO_MAX, NO_MIN, QUARTERS_PER_DAY, compute, to_micro, to_us
from metering_service.rollups.repository import COLUMNS, day_row

Q = timedelta(minutes=15)
PARIS = ZoneInfo("Europe/Paris")
YEAR_START = datetime(2026, 1, 1, tzinfo=PARIS).astimezone(UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=PARIS).astimezone(UTC)
MIGRATIONS = Path(__file__).resolve().parents[2] / "metering-service" / "migrations"


async def rollup(
    client: httpx.AsyncClient, headers: dict[str, str], sid: int, step: str, a: datetime, b: datetime
) -> Any:
    r = await client.get(
        f"/api/metering/series/{sid}/readings",
        params={"resolution": step, "from": z(a), "to": z(b)},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()["buckets"]


async def test_a_year_of_tenth_kwh_steps_sums_exactly(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """0.1 kWh every quarter hour for a year: float64 sums give 297.59999999997 for a month."""
    assert math.fsum([0.1] * 2976) == 297.6 and sum([0.1] * 2976) != 297.6  # what a plain float sum does
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, timezone="Europe/Paris")
    n = int((YEAR_END - YEAR_START) / Q)
    body = [
        {"series_id": s["id"], "time": z(YEAR_START + k * Q), "value": format(Decimal("0.1") * k, "f")}
        for k in range(n + 1)
    ]
    assert (await ingest(metering_client, op, body)).status_code == 200
    tenth = Decimal("0.1")
    days = await rollup(metering_client, op, s["id"], "1d", YEAR_START, YEAR_END)
    assert len(days) == 365
    assert [d["value"] for d in days] == [format_decimal(tenth * d["coverage"]["expected"]) for d in days]
    assert {d["value"] for d in days} == {"9.6", "9.2", "10"}  # 96, 92 (29 March) and 100 (25 October) quarters
    months = await rollup(metering_client, op, s["id"], "1mo", YEAR_START, YEAR_END)
    assert [m["value"] for m in months] == [format_decimal(tenth * m["coverage"]["expected"]) for m in months]
    assert months[2]["value"] == "297.2" and months[9]["value"] == "298" and months[0]["value"] == "297.6"
    r = await metering_client.post(
        "/api/metering/energy-balance",
        json={"consumption": [s["id"]], "from": z(YEAR_START), "to": z(YEAR_END), "intervals": False},
        headers=op,
    )
    assert r.status_code == 200, r.text
    total = r.json()["total"]
    assert total["consumption"] == "3504" and total["from_grid"] == "3504" and total["self_consumed"] == "0"


async def test_counters_near_a_trillion_with_three_decimals(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """A register at 999,999,999,000.001 kWh counting 1 Wh a minute, then rolling over at 10¹²: float64
    has about 4 decimals left there (the step 0.001 comes out as 0.0009765625 or 0.001220703125)."""
    assert 999999999999.999 - 999999999999.998 != 0.001
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, timezone="UTC")
    t0 = datetime(2026, 5, 4, tzinfo=UTC)
    start = Decimal("999999999000.001")
    values = [start + Decimal("0.001") * k for k in range(24 * 60)]
    times = [t0 + timedelta(minutes=k) for k in range(len(values))]
    # the next day at 01:00 a rollover at 10¹²: 0.003 in the quarter
    later = t0 + timedelta(days=1, hours=1)
    values += [Decimal("999999999999.999"), Decimal("0.002")]
    times += [later, later + timedelta(minutes=1)]
    body = [{"series_id": s["id"], "time": z(t), "value": format(v, "f")} for t, v in zip(times, values, strict=True)]
    assert (await ingest(metering_client, op, body)).status_code == 200
    quarters = await rollup(metering_client, op, s["id"], "15m", t0, t0 + timedelta(days=1))
    assert all(q["value"] == "0.015" for q in quarters[:-1]) and quarters[-1]["value"] == "0.014"
    [day] = await rollup(metering_client, op, s["id"], "1d", t0, t0 + timedelta(days=1))
    assert day["value"] == "1.439" and day["counter_resets"] == 0
    [rolled] = await rollup(metering_client, op, s["id"], "15m", later, later + Q)
    assert rolled["value"] == "0.003" and rolled["counter_resets"] == 0


async def test_averages_round_half_even_once(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, kind="instantaneous", unit="kW", timezone="UTC")
    t0 = datetime(2026, 7, 1, tzinfo=UTC)

    def at(quarter: int, seconds: int, value: str) -> dict[str, Any]:
        return {"series_id": s["id"], "time": z(t0 + quarter * Q + timedelta(seconds=seconds)), "value": value}

    body = [
        at(0, 0, "0"), at(0, 600, "1"),  # 1/3
        at(1, 0, "1"), at(1, 600, "0"),  # 2/3
        at(2, 0, "0.000001"), at(2, 450, "0.000002"),  # 0.0000015 → 0.000002 (even)
        at(3, 0, "0.000002"), at(3, 450, "0.000003"),  # 0.0000025 → 0.000002 (even)
        at(4, 0, "1.0000005"), at(4, 450, "-1.0000015"),  # readings rounded half-even: 1, -1.000002
        at(5, 0, "2.5000005"),  # 2.5 (to even), alone in its quarter
    ]  # fmt: skip
    assert (await ingest(metering_client, op, body)).status_code == 200
    got = await rollup(metering_client, op, s["id"], "15m", t0, t0 + 6 * Q)
    assert [q["value"] for q in got] == ["0.333333", "0.666667", "0.000002", "0.000002", "-0.000001", "2.5"]
    assert (got[4]["min"], got[4]["max"]) == ("-1.000002", "1")
    # the hour is the exact integral over its covered time, rounded once: (300 + 600 + 0.00135 + 0.00225) / 3600
    [hour] = await rollup(metering_client, op, s["id"], "1h", t0, t0 + 4 * Q)
    assert hour["value"] == format_decimal(Decimal(round((Decimal("900.0036") / 3600) * MICRO)).scaleb(-6))
    # the raw readings stay exact
    r = await metering_client.get(
        f"/api/metering/series/{s['id']}/readings", params={"from": z(t0 + 4 * Q), "to": z(t0 + 6 * Q)}, headers=op
    )
    assert [g["value"] for g in r.json()["readings"]] == ["1.0000005", "-1.0000015", "2.5000005"]


def test_python_and_sql_rounding_agree_on_halves() -> None:
    """``to_micro`` (Python) is what the SQL of ``readings_between`` computes: checked through ingestion above
    and in test_rollups; here its own cases."""
    cases = {"0.0000005": 0, "0.0000015": 2, "-0.0000025": -2, "-0.0000035": -4, "1.00000051": 1000001, "7": 7 * MICRO}
    assert {k: to_micro(Decimal(k)) for k in cases} == cases


async def test_values_beyond_the_rollups_range_are_refused(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, kind="instantaneous", unit="W")
    t0 = datetime(2026, 7, 2, tzinfo=UTC)
    body = [
        {"series_id": s["id"], "time": z(t0), "value": "1"},
        {"series_id": s["id"], "time": z(t0 + Q), "value": "10000000000000"},
    ]
    r = await ingest(metering_client, op, body)
    assert r.status_code == 422 and "beyond the range of the rollups" in r.text, r.text
    r = await metering_client.get(f"/api/metering/series/{s['id']}/readings", headers=op)
    assert r.json()["readings"] == []  # nothing written
    body[1]["value"] = "9223372036854.775806"  # the largest value kept
    assert (await ingest(metering_client, op, body)).status_code == 200
    [q] = await rollup(metering_client, op, s["id"], "15m", t0 + Q, t0 + 2 * Q)
    assert q["value"] == q["max"] == "9223372036854.775806"


async def test_balance_of_registers_in_wh_kwh_and_mwh_is_exact(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """Registers only: the figures are the exact sums (1 µWh resolution), no rounding."""
    op = internal_headers(company_id, "operator")
    t0 = datetime(2026, 8, 3, tzinfo=UTC)
    specs = {"Wh": ("production", "0.000001"), "kWh": ("consumption", "0.000001"), "MWh": ("production", "0.000001")}
    ids: dict[str, list[int]] = {"production": [], "consumption": []}
    for unit, (side, step) in specs.items():
        s = await new_series(metering_client, op, unit=unit, timezone="UTC")
        ids[side].append(s["id"])
        body = [
            {"series_id": s["id"], "time": z(t0 + k * Q), "value": format(Decimal(step) * k * k, "f")} for k in range(5)
        ]
        assert (await ingest(metering_client, op, body)).status_code == 200
    r = await metering_client.post(
        "/api/metering/energy-balance",
        json={**ids, "from": z(t0), "to": z(t0 + 4 * Q)},
        headers=op,
    )
    assert r.status_code == 200, r.text
    intervals = r.json()["intervals"]
    # quarter k: (2k+1) µ of each unit: 10⁻⁹, 10⁻⁶ and 10⁻³ kWh
    for k, interval in enumerate(intervals):
        n = 2 * k + 1
        p = Decimal(n) * (Decimal("1e-9") + Decimal("1e-3"))
        c = Decimal(n) * Decimal("1e-6")
        assert interval["production"] == format_decimal(p) and interval["consumption"] == format_decimal(c)
        assert interval["self_consumed"] == format_decimal(c) and interval["exported"] == format_decimal(p - c)
        assert interval["from_grid"] == "0"
    assert r.json()["total"]["production"] == "0.016000016"


def _float_row(series_id: int, day: Any, values: list[float], covered: list[float], extremes: bool) -> tuple[Any, ...]:
    """A day row as revision 0006 stored it (float64 arrays)."""
    pack = struct.Struct("<96d").pack
    nan = [math.nan] * QUARTERS_PER_DAY
    mins = [v if c else math.nan for v, c in zip(values, covered, strict=True)] if extremes else nan
    return (
        series_id,
        day,
        pack(*values),
        pack(*covered),
        pack(*mins) if extremes else None,
        pack(*mins) if extremes else None,
        None,
    )


async def test_migration_recomputes_float_rollups_exactly(stack: Stack) -> None:
    """0011 on float rows: days with readings recomputed exactly; a day whose readings are gone converted."""
    async with scratch_database(stack.database_url) as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0008")
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(
                "CREATE TABLE metering.readings_y2026m06 PARTITION OF metering.readings "
                "FOR VALUES FROM ('2026-06-01 00:00+00') TO ('2026-07-01 00:00+00')"
            )
            await conn.execute(
                "INSERT INTO metering.series (id, company_id, external_key, kind, unit, timezone) OVERRIDING SYSTEM "
                "VALUE VALUES (1, 1, 'e', 'cumulative', 'kWh', 'UTC'), (2, 1, 'p', 'instantaneous', 'kW', 'UTC')"
            )
            t0 = datetime(2026, 6, 10, tzinfo=UTC)
            energy = [(t0 + k * Q, Decimal("0.1") * k) for k in range(97)]
            power = [(t0 + k * Q + timedelta(seconds=300 * (k % 3)), Decimal(k) / 3) for k in range(96)]
            power = [(t, v.quantize(Decimal("0.0000001"))) for t, v in power]
            await conn.executemany(
                "INSERT INTO metering.readings (series_id, ts, value, quality) VALUES ($1, $2, $3, 3)",
                [(1, t, v) for t, v in energy] + [(2, t, v) for t, v in power],
            )
            day = t0.date()
            gone = datetime(2026, 5, 1).date()  # its partition was dropped: no readings left
            rows = [
                _float_row(1, day, [0.1] * 96, [900.0] * 96, False),
                _float_row(2, day, [1.0] * 96, [600.0] * 96, True),
                _float_row(1, gone, [0.30000000000000004] * 96, [900.0] * 96, False),
            ]
            await conn.copy_records_to_table(
                "rollup_days",
                schema_name="metering",
                columns=["series_id", "day", "value", "covered", "minimum", "maximum", "resets"],
                records=rows,
            )
            await asyncio.to_thread(upgrade, MIGRATIONS, url, "head")
            stored = {
                (r["series_id"], r["day"]): r
                for r in await conn.fetch("SELECT * FROM metering.rollup_days ORDER BY series_id, day")
            }
            first = to_us(t0) // (15 * 60 * 10**6)
            for sid, kind, readings in ((1, True, energy), (2, False, power)):
                quarters = compute(kind, [to_us(t) for t, _ in readings], [to_micro(v) for _, v in readings], first, 96)
                expected = day_row(sid, kind, quarters, 0)
                assert expected is not None and dict(stored[(sid, day)]) == dict(zip(COLUMNS, expected, strict=True))
            converted = stored[(1, gone)]
            assert struct.unpack("<96q", converted["value"]) == (300_000,) * 96  # 0.3 kWh in micro-units
            assert struct.unpack("<96i", converted["covered"]) == (900_000_000,) * 96
            min_power = struct.unpack("<96q", stored[(2, day)]["minimum"])
            assert min_power[0] == 0 and NO_MIN not in min_power and NO_MAX not in min_power
            await asyncio.to_thread(downgrade, MIGRATIONS, url, "0008")
            back = {(r["series_id"], r["day"]): r for r in await conn.fetch("SELECT * FROM metering.rollup_days")}
            assert struct.unpack("<96d", back[(1, gone)]["value"]) == (0.3,) * 96
            assert struct.unpack("<96d", back[(1, day)]["value"]) == (0.1,) * 96
        finally:
            await conn.close()
