"""Technical specs (/api/specs): versioned upsert, BESS closing rule, vBat EXCLUDE rule, reads."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from asset_helpers import create_asset, iso, mw, mwh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

_companies = itertools.count(8_000_000)
PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


async def make_asset(client: httpx.AsyncClient, headers: dict[str, str], type_: str = "BESS") -> str:
    body = {"code": "sp", "name": "Spec", "type": type_, "region": "DE", "delivery_area": "TNBW", "provider": "EBX"}
    return await create_asset(client, headers, body)


async def put(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.put("/api/specs", json=body, headers=headers)


async def read(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> httpx.Response:
    return await client.get("/api/specs", params=params, headers=headers)


def windows(specs: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(s["valid_from"], s["valid_to"]) for s in specs]


async def test_bess_versions_close_the_active_one(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    full = {
        "rated_power": mw(10),
        "grid_connection_max_power": mw("9.5"),
        "max_capacity": mwh(20),
        "ramp_rate": "2.5",
        "ramp_type": "LINEAR",
        "charge_efficiency": 0.95,
        "discharge_efficiency": "0.9",
        "daily_cycle_energy_limit": mwh(40),
        "prequalified_fcr": mw(1),
        "prequalified_afrr_charge": mw(2),
        "prequalified_afrr_discharge": mw("2.000"),
    }
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0), **full)
    assert r.status_code == 200, r.text
    v1 = r.json()
    assert v1["valid_to"] is None and v1["valid_from"] == "2026-01-01T00:00:00Z"
    assert v1["rated_power"] == {"amount": "10", "unit": "MW"}
    assert v1["grid_connection_max_power"] == {"amount": "9.5", "unit": "MW"}
    assert v1["max_capacity"] == {"amount": "20", "unit": "MWh"}
    assert v1["daily_cycle_energy_limit"] == {"amount": "40", "unit": "MWh"}
    assert v1["prequalified_afrr_discharge"] == {"amount": "2", "unit": "MW"}
    assert (v1["ramp_rate"], v1["ramp_type"]) == ("2.5", "LINEAR")
    assert (v1["charge_efficiency"], v1["discharge_efficiency"]) == ("0.95", "0.9")

    # A newer BESS version closes v1 at its valid_from.
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + 10 * DAY), rated_power=mw(12))
    assert r.status_code == 200, r.text
    assert r.json()["valid_to"] is None and r.json()["max_capacity"] is None

    # Not strictly after the active version (equal to an older one, equal to the active, before it): 422.
    for vf in (T0 + 5 * DAY, T0 - DAY):
        r = await put(asset_client, op, asset_id=asset, valid_from=iso(vf), rated_power=mw(1))
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "valid_from"]
        assert "strictly after" in r.json()["detail"][0]["msg"]

    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert windows(got) == [
        ("2026-01-11T00:00:00Z", None),
        ("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"),
    ]
    assert got[1]["rated_power"] == {"amount": "10", "unit": "MW"}
    assert got[1]["created_at"] <= got[1]["updated_at"]


async def test_same_key_is_a_partial_update(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "admin")
    asset = await make_asset(asset_client, op)
    first = await put(
        asset_client, op, asset_id=asset, valid_from=iso(T0), rated_power=mw(5), ramp_type="STEP", max_capacity=mwh(8)
    )
    assert first.status_code == 200
    # Omitted fields keep their value; an explicit null clears; given values overwrite.
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0), rated_power=mw(6), ramp_type=None)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rated_power"]["amount"] == "6" and body["ramp_type"] is None
    assert body["max_capacity"] == {"amount": "8", "unit": "MWh"}
    assert body["created_at"] == first.json()["created_at"]
    assert body["updated_at"] >= first.json()["updated_at"]
    # Re-submitting the active key does not count as "not after the active version".
    assert (await put(asset_client, op, asset_id=asset, valid_from=iso(T0))).status_code == 200
    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert len(got) == 1 and got[0]["rated_power"]["amount"] == "6"


async def test_resubmitting_a_closed_bess_version_with_null_valid_to_keeps_its_end(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    """``valid_to: null`` on an existing key is ``valid_to`` omitted: the closed version keeps its end."""
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    assert (await put(asset_client, op, asset_id=asset, valid_from=iso(T0), rated_power=mw(5))).status_code == 200
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY), valid_to=None, rated_power=mw(6))
    assert r.status_code == 200 and r.json()["valid_to"] is None
    # A client that serialises every field corrects the closed first version.
    r = await put(
        asset_client, op, asset_id=asset, valid_from=iso(T0), valid_to=None, rated_power=mw(7), ramp_type=None
    )
    assert r.status_code == 200, r.text
    assert r.json()["valid_to"] == iso(T0 + DAY) and r.json()["rated_power"]["amount"] == "7"
    # The active version re-submitted the same way stays open-ended.
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY), valid_to=None, rated_power=mw(8))
    assert r.status_code == 200 and r.json()["valid_to"] is None
    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert windows(got) == [(iso(T0 + DAY), None), (iso(T0), iso(T0 + DAY))]
    assert [s["rated_power"]["amount"] for s in got] == ["8", "7"]


async def test_vbat_windows_and_overlaps(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op, "VBAT")
    ok = await put(asset_client, op, asset_id=asset, valid_from=iso(T0), valid_to=iso(T0 + 2 * DAY), rated_power=mw(1))
    assert ok.status_code == 200, ok.text
    # Adjacent windows are fine ([) ranges).
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + 2 * DAY), valid_to=iso(T0 + 3 * DAY))
    assert r.status_code == 200, r.text
    # Partial overlaps are refused by the EXCLUDE constraint, naming the clashing window.
    for vf, vt in ((T0 + DAY, T0 + 4 * DAY), (T0 - DAY, T0 + DAY), (T0 + 2 * DAY + Q, T0 + 2 * DAY + 2 * Q)):
        r = await put(asset_client, op, asset_id=asset, valid_from=iso(vf), valid_to=iso(vt))
        assert r.status_code == 422, (vf, r.text)
        assert "overlaps existing spec" in r.json()["detail"][0]["msg"]
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY), valid_to=iso(T0 + 4 * DAY))
    assert "[2026-01-01T00:00:00Z, 2026-01-03T00:00:00Z)" in r.json()["detail"][0]["msg"]
    # An open-ended (BESS-style) version after the windows closes nothing and is accepted...
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + 5 * DAY))
    assert r.status_code == 200
    # ...but one starting inside a window overlaps it.
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY))
    assert r.status_code == 422
    # The same valid_from is the partial-update case: shrinking/extending the window is checked too.
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0), valid_to=iso(T0 + DAY), rated_power=mw(3))
    assert r.status_code == 200 and r.json()["valid_to"] == iso(T0 + DAY) and r.json()["rated_power"]["amount"] == "3"
    r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0), valid_to=iso(T0 + 3 * DAY))
    assert r.status_code == 422
    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert windows(got) == [
        (iso(T0 + 5 * DAY), None),
        (iso(T0 + 2 * DAY), iso(T0 + 3 * DAY)),
        (iso(T0), iso(T0 + DAY)),
    ]


Q = timedelta(minutes=15)


async def test_concurrent_overlapping_upserts_only_one_wins(
    asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op, "VBAT")
    # Eight windows, each overlapping every other one (all contain T0 + 8h), different keys.
    bodies = [
        {"asset_id": asset, "valid_from": iso(T0 + i * timedelta(hours=1)), "valid_to": iso(T0 + DAY + i * Q)}
        for i in range(8)
    ]
    results = await asyncio.gather(*(asset_client.put("/api/specs", json=b, headers=op) for b in bodies))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [422] * 7, [r.text for r in results]
    assert len((await read(asset_client, op, asset_ids=asset)).json()["specs"]) == 1

    # BESS versions racing on the same active row: whatever order they land in, the database never
    # holds overlapping windows nor two open-ended versions.
    bess = await make_asset(asset_client, op)
    assert (await put(asset_client, op, asset_id=bess, valid_from=iso(T0))).status_code == 200
    results = await asyncio.gather(
        *(put(asset_client, op, asset_id=bess, valid_from=iso(T0 + i * DAY)) for i in range(1, 7))
    )
    assert all(r.status_code in (200, 422) for r in results), [r.text for r in results]
    assert any(r.status_code == 200 for r in results)
    got = (await read(asset_client, op, asset_ids=bess)).json()["specs"]
    assert sum(1 for s in got if s["valid_to"] is None) == 1
    spans = sorted((s["valid_from"], s["valid_to"] or "9999") for s in got)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert len(got) == 1 + sum(1 for r in results if r.status_code == 200)
    async with asset_app.state.engine.connect() as conn:
        n = (
            await conn.execute(
                text("SELECT count(*) FROM asset.technical_specs WHERE company_id = :c AND asset_id = :a"),
                {"c": company_id, "a": bess},
            )
        ).scalar_one()
    assert n == len(got)


async def test_reads_latest_window_and_order(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a, b = await make_asset(asset_client, op), await make_asset(asset_client, op)
    for asset in (a, b):
        for i in (0, 10, 20):
            r = await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + i * DAY), rated_power=mw(i))
            assert r.status_code == 200
    member = internal_headers(company_id, "member")
    got = (await read(asset_client, member, asset_ids=[b, a])).json()
    assert got["limit"] == 50 and got["offset"] == 0
    assert [(s["asset_id"], s["rated_power"]["amount"]) for s in got["specs"]] == [
        (a, "20"),
        (a, "10"),
        (a, "0"),
        (b, "20"),
        (b, "10"),
        (b, "0"),
    ]
    # Comma-separated ids, pagination.
    page = (await read(asset_client, member, asset_ids=f"{a},{b}", limit=2, offset=1)).json()["specs"]
    assert [(s["asset_id"], s["rated_power"]["amount"]) for s in page] == [(a, "10"), (a, "0")]
    # latest collapses to one row per asset.
    latest = (await read(asset_client, member, asset_ids=[a, b], latest="true")).json()["specs"]
    assert [(s["asset_id"], s["valid_from"]) for s in latest] == [(a, iso(T0 + 20 * DAY)), (b, iso(T0 + 20 * DAY))]
    # from/to bound valid_from inclusively on both ends.
    window = await read(asset_client, member, asset_ids=a, **{"from": iso(T0 + 10 * DAY), "to": iso(T0 + 20 * DAY)})
    assert [s["valid_from"] for s in window.json()["specs"]] == [iso(T0 + 20 * DAY), iso(T0 + 10 * DAY)]
    # latest within a window; from alone spans 31 days.
    r = await read(asset_client, member, asset_ids=a, latest="true", to=iso(T0 + 15 * DAY), **{"from": iso(T0)})
    assert [s["valid_from"] for s in r.json()["specs"]] == [iso(T0 + 10 * DAY)]
    r = await read(asset_client, member, asset_ids=a, **{"from": iso(T0 + 5 * DAY)})
    assert [s["valid_from"] for s in r.json()["specs"]] == [iso(T0 + 20 * DAY), iso(T0 + 10 * DAY)]
    # Exactly 31 days is allowed; more is a 422; to before from is a 422.
    ok = await read(asset_client, member, asset_ids=a, to=iso(T0 + 31 * DAY), **{"from": iso(T0)})
    assert ok.status_code == 200 and len(ok.json()["specs"]) == 3
    for frm, to in ((T0, T0 + 31 * DAY + timedelta(seconds=1)), (T0 + DAY, T0)):
        r = await read(asset_client, member, asset_ids=a, to=iso(to), **{"from": iso(frm)})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", "to"]
    # Unknown ids yield nothing.
    assert (await read(asset_client, member, asset_ids="NOPE_1")).json()["specs"] == []


async def test_bad_input(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    base = {"asset_id": asset, "valid_from": iso(T0)}
    bad_bodies = [
        {**base, "rated_power": mwh(1)},  # power in MWh
        {**base, "max_capacity": mw(1)},  # energy in MW
        {**base, "daily_cycle_energy_limit": {"amount": 1, "unit": "kWh"}},
        {**base, "prequalified_fcr": {"amount": 1}},
        {**base, "rated_power": mw(-1)},
        {**base, "rated_power": mw("1e30")},
        {**base, "rated_power": mw("0.0000000000000000001")},
        {**base, "rated_power": mw("abc")},
        {**base, "charge_efficiency": 1.01},
        {**base, "discharge_efficiency": 0},
        {**base, "ramp_rate": -1},
        {**base, "ramp_type": ""},
        {**base, "valid_to": iso(T0)},
        {**base, "valid_to": iso(T0 - DAY)},
        {**base, "valid_from": "2026-01-01T00:00:00"},  # no time zone
        {**base, "valid_from": "0001-01-01T00:00:00+01:00"},  # out of range
        {**base, "valid_to": "9999-12-31T23:59:59Z"},
        {**base, "delivery_day": "2026-01-01"},
        {"valid_from": iso(T0)},
        {"asset_id": asset},
        {**base, "asset_id": ""},
    ]
    for body in bad_bodies:
        r = await asset_client.put("/api/specs", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
        assert isinstance(r.json()["detail"], list)
    for params in (
        {},
        {"asset_ids": ""},
        {"asset_ids": ","},
        {"asset_ids": asset, "limit": 0},
        {"asset_ids": asset, "limit": 1001},
        {"asset_ids": asset, "offset": -1},
        {"asset_ids": asset, "latest": "maybe"},
        {"asset_ids": asset, "from": "yesterday"},
        {"asset_ids": asset, "from": "2026-01-01T00:00:00"},
        {"asset_ids": asset, "from": "9999-12-31T00:00:00Z"},
    ):
        r = await asset_client.get("/api/specs", params=params, headers=op)
        assert r.status_code == 422, (params, r.text)
    # Nothing was written by any of the refused requests.
    assert (await read(asset_client, op, asset_ids=asset)).json()["specs"] == []


async def test_unknown_asset_and_tenant_isolation(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    r = await put(asset_client, op, asset_id="DE_TNBW_NOPE_1", valid_from=iso(T0))
    assert r.status_code == 404 and "DE_TNBW_NOPE_1" in r.json()["detail"]
    assert (await put(asset_client, op, asset_id=asset, valid_from=iso(T0), rated_power=mw(1))).status_code == 200
    other = internal_headers(company_id + 500_000, "admin")
    r = await put(asset_client, other, asset_id=asset, valid_from=iso(T0 + DAY), rated_power=mw(2))
    assert r.status_code == 404
    assert (await read(asset_client, other, asset_ids=asset)).json()["specs"] == []
    assert (await read(asset_client, other, asset_ids=asset, latest="true")).json()["specs"] == []
    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert windows(got) == [(iso(T0), None)] and got[0]["rated_power"]["amount"] == "1"


async def test_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    body = {"asset_id": asset, "valid_from": iso(T0)}
    for role in ("member", "device"):
        assert (
            await asset_client.put("/api/specs", json=body, headers=internal_headers(company_id, role))
        ).status_code == 403
    assert (await read(asset_client, internal_headers(company_id, "device"), asset_ids=asset)).status_code == 403
    assert (await asset_client.get("/api/specs", params={"asset_ids": asset})).status_code == 401
    assert (await read(asset_client, internal_headers(company_id, "member"), asset_ids=asset)).status_code == 200


async def test_events(asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op)
    await put(asset_client, op, asset_id=asset, valid_from=iso(T0), rated_power=mw(1))
    await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY), rated_power=mw(2))
    await put(asset_client, op, asset_id=asset, valid_from=iso(T0 + DAY), rated_power=mw(3))
    await put(asset_client, op, asset_id=asset, valid_from=iso(T0 - DAY))  # refused: no event
    async with asset_app.state.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT key, payload FROM asset.outbox WHERE topic = 'assets.spec.v1' "
                    "AND payload->>'companyid' = :c ORDER BY seq"
                ),
                {"c": str(company_id)},
            )
        ).all()
    prefix = "org.gridcommons.assets.spec."
    assert [(r.key, r.payload["type"].removeprefix(prefix), r.payload["data"]["valid_from"]) for r in rows] == [
        (asset, "created", iso(T0)),
        (asset, "updated", iso(T0)),  # closed by the next version
        (asset, "created", iso(T0 + DAY)),
        (asset, "updated", iso(T0 + DAY)),
    ]
    assert rows[1].payload["data"]["valid_to"] == iso(T0 + DAY)
    assert rows[3].payload["data"]["rated_power"] == {"amount": "3", "unit": "MW"}


# -- properties --------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False, allow_infinity=False)


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6), amounts), min_size=1, max_size=8))
async def test_property_vbat_windows_match_reference(
    asset_client: httpx.AsyncClient, internal_headers, windows_in: list[tuple[int, int, Decimal]]
) -> None:
    """Sequential vBat upserts: the server accepts exactly what a naive interval check accepts."""
    company = next(_companies)
    op = internal_headers(company, "operator")
    asset = await make_asset(asset_client, op, "VBAT")
    stored: dict[int, tuple[int, Decimal]] = {}  # start -> (end, rated power)
    for start, length, power in windows_in:
        end = start + length
        clash = any(s != start and s < end and start < e for s, (e, _) in stored.items())
        r = await put(
            asset_client,
            op,
            asset_id=asset,
            valid_from=iso(T0 + start * DAY),
            valid_to=iso(T0 + end * DAY),
            rated_power=mw(str(power)),
        )
        assert r.status_code == (422 if clash else 200), r.text
        if not clash:
            stored[start] = (end, power)
    got = (await read(asset_client, op, asset_ids=asset, limit=1000)).json()["specs"]
    want = sorted(stored.items(), reverse=True)
    assert [(s["valid_from"], s["valid_to"], Decimal(s["rated_power"]["amount"])) for s in got] == [
        (iso(T0 + s * DAY), iso(T0 + e * DAY), p) for s, (e, p) in want
    ]


async def test_racing_transactions_are_decided_by_the_database(
    asset_app: Any, asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    """Two open transactions, interleaved on purpose: the second waits on the first's row and then
    either fails the EXCLUDE constraint (overlap → 422) or turns into a partial update (same key)."""
    import pytest

    from asset_service.specs import service
    from asset_service.specs.schemas import UpsertSpecRequest
    from gridcommons.errors import ValidationFailed

    op = internal_headers(company_id, "operator")
    asset = await make_asset(asset_client, op, "VBAT")
    maker = asset_app.state.sessionmaker

    def body(**kw: Any) -> UpsertSpecRequest:
        return UpsertSpecRequest.model_validate({"asset_id": asset, **kw})

    # Overlapping windows, different keys.
    async with maker() as s1, maker() as s2:
        await service.upsert_spec(s1, company_id, body(valid_from=iso(T0), valid_to=iso(T0 + 2 * DAY)))
        second = asyncio.create_task(
            service.upsert_spec(s2, company_id, body(valid_from=iso(T0 + DAY), valid_to=iso(T0 + 3 * DAY)))
        )
        await asyncio.sleep(0.3)
        assert not second.done()  # blocked on the first transaction's uncommitted row
        await s1.commit()
        with pytest.raises(ValidationFailed) as refused:
            await second
        assert "overlaps existing spec" in refused.value.errors[0]["msg"]
        await s2.rollback()

    # Same key: the second writer becomes a partial update of the first's row.
    key = iso(T0 + 10 * DAY)
    async with maker() as s1, maker() as s2:
        await service.upsert_spec(s1, company_id, body(valid_from=key, valid_to=iso(T0 + 11 * DAY), rated_power=mw(1)))
        second = asyncio.create_task(service.upsert_spec(s2, company_id, body(valid_from=key, ramp_type="LINEAR")))
        await asyncio.sleep(0.3)
        assert not second.done()
        await s1.commit()
        merged = await second
        await s2.commit()
    assert merged.ramp_type == "LINEAR" and merged.rated_power is not None and merged.rated_power.amount == 1
    got = (await read(asset_client, op, asset_ids=asset)).json()["specs"]
    assert windows(got) == [(key, iso(T0 + 11 * DAY)), (iso(T0), iso(T0 + 2 * DAY))]
