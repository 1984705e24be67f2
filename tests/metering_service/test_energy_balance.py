"""The energy balance against a reference computed from the raw readings (hypothesis): production
and consumption series of both kinds and several units over a DST day, gaps; its refusals and tenant
isolation."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import ingest, new_series, z
from rollup_reference import reference

from gridcommons.quantity import format_decimal
from metering_service.balance.schemas import EnergyBalanceResponse

Q = timedelta(minutes=15)
# kWh per unit (energy registers) or kW per unit (power series)
TO_KWH = {
    "Wh": Fraction(1, 1000),
    "kWh": Fraction(1),
    "MWh": Fraction(1000),
    "W": Fraction(1, 1000),
    "kW": Fraction(1),
    "MW": Fraction(1000),
}
US_PER_HOUR = 3_600_000_000
# (kind, unit) of the production and consumption series: a mix of power and registers, and drawn sets (registers
# only: exact figures; power only; every unit)
PRODUCTION = [("instantaneous", "W"), ("cumulative", "kWh")]
CONSUMPTION = [("cumulative", "Wh"), ("cumulative", "kWh"), ("instantaneous", "kW")]
SPECS = [
    (k, u) for k, units in (("cumulative", ("Wh", "kWh", "MWh")), ("instantaneous", ("W", "kW", "MW"))) for u in units
]
REGISTERS = SPECS[:3]


def synthetic(kind: str, unit: str, start: datetime, rng: random.Random) -> list[tuple[datetime, Decimal]]:
    """A day and some of readings every 5 or 15 minutes with a gap, counters growing; now and then a value
    with more than the 6 decimals the rollups keep."""
    step = timedelta(minutes=rng.choice([5, 15]))
    gap = range(rng.randrange(0, 80), rng.randrange(80, 120))
    out: list[tuple[datetime, Decimal]] = []
    counter, t = Decimal(rng.randrange(0, 1_000_000)).scaleb(-3), start
    k = 0
    while t < start + timedelta(hours=27):
        if k not in gap:
            if kind == "cumulative":
                counter += Decimal(rng.randrange(0, 2_000_000 if unit == "Wh" else 2000)).scaleb(-3)
                value = counter
            else:
                value = Decimal(rng.randrange(0, 4_000_000 if unit == "W" else 4000)).scaleb(-3)
            if rng.random() < 0.1:
                value += Decimal(rng.randrange(1, 10_000)).scaleb(-10)
            out.append((t, value))
        t += step
        k += 1
    return out


def energy_kwh(kind: str, unit: str, readings: list[tuple[datetime, Decimal]], a: datetime) -> Fraction | None:
    """The exact energy of the quarter ``a`` (kWh) from the reference rollup."""
    ref = reference(kind, readings, a, a + Q)
    if ref["value"] is None:
        return None
    if kind == "instantaneous":
        return ref["integral"] / US_PER_HOUR * TO_KWH[unit]  # value × µs → kWh
    return Fraction(ref["value"]) * TO_KWH[unit]


def kwh_text(x: Fraction) -> str:
    """A figure as the balance answers it: rounded half-even to 10⁻⁹ kWh, decimal text."""
    return format_decimal(Decimal(round(x * 10**9)).scaleb(-9))


async def balance(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/metering/energy-balance", json=body, headers=headers)


@settings(max_examples=7, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    day=st.sampled_from([date(2026, 3, 29), date(2026, 10, 25)]),
    zone=st.sampled_from(["Europe/Paris", "Europe/Berlin", "Europe/Warsaw"]),
    specs=st.one_of(
        st.just((PRODUCTION, CONSUMPTION)),
        st.tuples(
            st.lists(st.sampled_from(REGISTERS), min_size=1, max_size=2),
            st.lists(st.sampled_from(REGISTERS), min_size=1, max_size=3),
        ),
        st.tuples(
            st.lists(st.sampled_from(SPECS), min_size=1, max_size=2),
            st.lists(st.sampled_from(SPECS), min_size=1, max_size=3),
        ),
    ),
)
async def test_energy_balance_matches_the_reference(
    metering_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    seed: int,
    day: date,
    zone: str,
    specs: tuple[list[tuple[str, str]], list[tuple[str, str]]],
) -> None:
    op = internal_headers(company_id, "operator")
    rng = random.Random(seed)
    tz = ZoneInfo(zone)
    day_start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    sides: dict[str, list[tuple[int, str, str, list[tuple[datetime, Decimal]]]]] = {}
    for side, side_specs in (("production", specs[0]), ("consumption", specs[1])):
        sides[side] = []
        for kind, unit in side_specs:
            s = await new_series(metering_client, op, kind=kind, unit=unit, timezone=zone)
            readings = synthetic(kind, unit, day_start - timedelta(hours=1), rng)
            body = [{"series_id": s["id"], "time": z(t), "value": format(v, "f")} for t, v in readings]
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
    n_series = len(specs[0]) + len(specs[1])
    zero = Fraction(0)
    totals = {"production": zero, "consumption": zero, "self_consumed": zero}
    per_day: dict[date, dict[str, Fraction]] = {}
    for q, interval in zip(quarters, got["intervals"], strict=True):
        p = c = zero
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
        assert interval["production"] == kwh_text(p) and interval["consumption"] == kwh_text(c), (q, interval, p, c)
        assert interval["self_consumed"] == kwh_text(s)
        assert interval["exported"] == kwh_text(p - s) and interval["from_grid"] == kwh_text(c - s)
        assert interval["coverage"] == {"expected": n_series, "received": received}
        assert min(Decimal(interval["exported"]), Decimal(interval["from_grid"])) == 0
        d = per_day.setdefault(
            q.astimezone(tz).date(), {"production": zero, "consumption": zero, "self_consumed": zero}
        )
        for key, value in (("production", p), ("consumption", c), ("self_consumed", s)):
            d[key] += value
            totals[key] += value
    assert [datetime.fromisoformat(d["day"]).date() for d in got["days"]] == sorted(per_day)
    for d in got["days"]:
        ref = per_day[date.fromisoformat(d["day"])]
        assert all(d[k] == kwh_text(ref[k]) for k in ref), (d, ref)
        assert d["exported"] == kwh_text(ref["production"] - ref["self_consumed"])
        assert d["from_grid"] == kwh_text(ref["consumption"] - ref["self_consumed"])
        assert (
            datetime.fromisoformat(d["start"]).utcoffset()
            == datetime.fromisoformat(d["start"]).astimezone(tz).utcoffset()
        )
    assert all(got["total"][k] == kwh_text(totals[k]) for k in totals), (got["total"], totals)
    assert got["total"]["coverage"]["expected"] == n_series * len(quarters)
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
    assert ok.json()["total"]["production"] == "0"
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
