"""The energy balance against a reference computed from the raw readings (hypothesis): production
and consumption series of both kinds and several units over a DST day, gaps; its refusals and tenant
isolation."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import ingest, new_series, z
from rollup_reference import reference

from metering_service.balance.schemas import EnergyBalanceResponse

Q = timedelta(minutes=15)
TO_KWH = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0, "W": 0.001, "kW": 1.0, "MW": 1000.0}
# (kind, unit) of the production and consumption series
PRODUCTION = [("instantaneous", "W"), ("cumulative", "kWh")]
CONSUMPTION = [("cumulative", "Wh"), ("cumulative", "kWh"), ("instantaneous", "kW")]


def synthetic(kind: str, unit: str, start: datetime, rng: random.Random) -> list[tuple[datetime, float]]:
    """A day and some of readings every 5 or 15 minutes with a gap, counters growing."""
    step = timedelta(minutes=rng.choice([5, 15]))
    gap = range(rng.randrange(0, 80), rng.randrange(80, 120))
    out, counter, t = [], rng.uniform(0, 1000), start
    k = 0
    while t < start + timedelta(hours=27):
        if k not in gap:
            if kind == "cumulative":
                counter += rng.uniform(0, 2000 if unit == "Wh" else 2)
                out.append((t, round(counter, 3)))
            else:
                out.append((t, round(rng.uniform(0, 4000 if unit == "W" else 4), 3)))
        t += step
        k += 1
    return out


def energy_kwh(kind: str, unit: str, readings: list[tuple[datetime, float]], a: datetime) -> float | None:
    ref = reference(kind, readings, a, a + Q)
    if ref["value"] is None:
        return None
    if kind == "instantaneous":
        return float(ref["value"]) * ref["fraction"] * 0.25 * TO_KWH[unit]  # average × covered hours
    return float(ref["value"]) * TO_KWH[unit]


def close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=2e-6)


async def balance(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/metering/energy-balance", json=body, headers=headers)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    day=st.sampled_from([date(2026, 3, 29), date(2026, 10, 25)]),
    zone=st.sampled_from(["Europe/Paris", "Europe/Berlin", "Europe/Warsaw"]),
)
async def test_energy_balance_matches_the_reference(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int, seed: int, day: date, zone: str
) -> None:
    op = internal_headers(company_id, "operator")
    rng = random.Random(seed)
    tz = ZoneInfo(zone)
    day_start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    sides: dict[str, list[tuple[int, str, str, list[tuple[datetime, float]]]]] = {}
    for side, specs in (("production", PRODUCTION), ("consumption", CONSUMPTION)):
        sides[side] = []
        for kind, unit in specs:
            s = await new_series(metering_client, op, kind=kind, unit=unit, timezone=zone)
            readings = synthetic(kind, unit, day_start - timedelta(hours=1), rng)
            body = [{"series_id": s["id"], "time": z(t), "value": v} for t, v in readings]
            assert (await ingest(metering_client, op, body)).status_code == 200
            sides[side].append((s["id"], kind, unit, readings))
    start = day_start + timedelta(minutes=rng.choice([0, 7]))  # not on a quarter: its quarter is the first
    end = day_start + timedelta(hours=25)
    r = await balance(
        metering_client,
        op,
        production=[p[0] for p in sides["production"]],
        consumption=[c[0] for c in sides["consumption"]],
        **{"from": z(start), "to": z(end)},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    EnergyBalanceResponse.model_validate(got)  # the answer, serialized by hand, is the documented shape
    assert got["timezone"] == zone and got["unit"] == "kWh"
    first = start.replace(minute=start.minute - start.minute % 15)
    quarters = [first + k * Q for k in range(int((end - first) / Q))]
    assert [datetime.fromisoformat(i["start"]) for i in got["intervals"]] == quarters
    totals = {"production": 0.0, "consumption": 0.0, "self_consumed": 0.0}
    per_day: dict[date, dict[str, float]] = {}
    for q, interval in zip(quarters, got["intervals"], strict=True):
        p = c = 0.0
        received = 0
        for side, series in sides.items():
            for _, kind, unit, readings in series:
                e = energy_kwh(kind, unit, readings, q)
                if e is not None:
                    received += 1
                    if side == "production":
                        p += e
                    else:
                        c += e
        s = min(p, c)
        assert close(interval["production"], p) and close(interval["consumption"], c), (q, interval, p, c)
        assert close(interval["self_consumed"], s)
        assert close(interval["exported"], p - s) and close(interval["from_grid"], c - s)
        assert interval["coverage"] == {"expected": 5, "received": received}
        assert min(interval["exported"], interval["from_grid"]) >= 0
        d = per_day.setdefault(q.astimezone(tz).date(), {"production": 0.0, "consumption": 0.0, "self_consumed": 0.0})
        for key, value in (("production", p), ("consumption", c), ("self_consumed", s)):
            d[key] += value
            totals[key] += value
    assert [datetime.fromisoformat(d["day"]).date() for d in got["days"]] == sorted(per_day)
    for d in got["days"]:
        ref = per_day[date.fromisoformat(d["day"])]
        assert all(math.isclose(d[k], ref[k], abs_tol=1e-5) for k in ref), (d, ref)
        assert (
            datetime.fromisoformat(d["start"]).utcoffset()
            == datetime.fromisoformat(d["start"]).astimezone(tz).utcoffset()
        )
    assert all(math.isclose(got["total"][k], totals[k], abs_tol=1e-4) for k in totals)
    assert got["total"]["coverage"]["expected"] == 5 * len(quarters)
    short = await balance(
        metering_client,
        op,
        production=[sides["production"][0][0]],
        consumption=[],
        intervals=False,
        **{"from": z(start), "to": z(end)},
    )
    assert short.status_code == 200 and short.json()["intervals"] == []


async def test_energy_balance_refusals_and_tenant_isolation(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    energy = await new_series(metering_client, op)
    volts = await new_series(metering_client, op, kind="instantaneous", unit="V")
    berlin = await new_series(metering_client, op, timezone="Europe/Berlin")
    period = {"from": "2026-06-01T00:00:00+02:00", "to": "2026-06-02T00:00:00+02:00"}
    ok = await balance(metering_client, op, production=[energy["id"]], **period)
    assert ok.status_code == 200 and ok.json()["total"]["coverage"] == {"expected": 96, "received": 0}
    for body in (
        {"production": [volts["id"]]},  # not an energy or power series
        {"production": [energy["id"], berlin["id"]]},  # two time zones, none named
        {"production": [energy["id"]], "consumption": [energy["id"]]},
        {"production": [energy["id"], energy["id"]]},
        {},
        {"production": [energy["id"]], "tz": "Nowhere/City"},
        {"production": [energy["id"]], "to": "2026-05-01T00:00:00Z"},
        {"production": [energy["id"]], "to": "2027-12-01T00:00:00Z"},
        {"production": [energy["id"]], "from": "2026-06-01T00:00:00"},
    ):
        r = await balance(metering_client, op, **{**period, **body})
        assert r.status_code == 422, (body, r.text)
    r = await balance(metering_client, op, production=[energy["id"], berlin["id"]], tz="Europe/Berlin", **period)
    assert r.status_code == 200
    other = internal_headers(company_id + 1, "operator")
    r = await balance(metering_client, other, production=[energy["id"]], **period)
    assert r.status_code == 404
    r = await balance(metering_client, op, consumption=[987654321], **period)
    assert r.status_code == 404
    member = internal_headers(company_id, "member")
    assert (await balance(metering_client, member, production=[energy["id"]], **period)).status_code == 403
