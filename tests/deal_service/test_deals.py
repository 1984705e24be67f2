"""Deals over HTTP: ingestion (newest report wins, codes checked against the registry replica), the staff
and resident views with their exact shapes (seed 004 §7), the budo format, the guards, tenant isolation,
the time zone and date parameters, and the hourly sums across DST changes against a reference."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from deal_helpers import COMMUNITY, Registry, outbox_events, register, report
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deal_service.app import create_app
from deal_service.deals.events import DealReportedV1
from deal_service.deals.schemas import BudoDeal, Deal, ResidentDeal
from deal_service.settings import DealSettings
from gridcommons.testing.plugin import Stack

INGEST = "/api/ingest/deals"
STAFF = "/api/staff/deal"
RESIDENT = "/api/resident/deal"


# The keys of seed 004's staff liveList example, in its order.
SEED_LIVE_KEYS = (
    "unitId negotiationId requestUnitId acceptUnitId requestDateTime acceptDateTime requestPointPerWh "
    "acceptPointPerWh requestDealGridCurrentA acceptDealGridCurrentA type chargeUnitId dischargeUnitId pointPerWh "
    "chargeUnitEfficientGridVoltageV dischargeUnitEfficientGridVoltageV dealGridCurrentA requestAmountWh "
    "acceptAmountWh dealAmountWh dealId createDateTime compensationTargetVoltageReferenceGridCurrentA "
    "activateDateTime warmUpDateTime dischargeUnitCompensatedGridCurrentA chargeUnitCompensatedGridCurrentA "
    "startDateTime cumulateDateTime cumulateAmountWh communityId clusterId reportTime"
).split()


def now_s() -> int:
    return int(time.time())


async def ingest(client: httpx.AsyncClient, headers: dict[str, str], deals: list[dict[str, Any]]) -> httpx.Response:
    return await client.post(INGEST, json={"deals": deals}, headers=headers)


def resident_headers(internal_headers: Any, reg: Registry, unit: str) -> dict[str, str]:
    return dict(internal_headers(reg.company_id, "member", subject=str(reg.residents[unit])))


def same_as_model(model: type[Any], body: dict[str, Any], *, exclude_none: bool = True) -> bool:
    """The hand-serialised body is what the documented model writes for the same data."""
    return model.model_validate(body).model_dump(mode="json", by_alias=True, exclude_none=exclude_none) == body


# ----------------------------------------------------------------------------- ingestion
async def test_reports_are_upserted_and_never_move_a_deal_backwards(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int, stack: Stack
) -> None:
    reg = await register(deal_app, company_id)
    device = internal_headers(company_id, "device")
    op = internal_headers(company_id, "operator")
    t = now_s()
    created = report("d-1", reportTime=t - 20)
    started = report(
        "d-1",
        activateDateTime="2020-01-01T06:09:10Z",
        startDateTime="2020-01-01T06:09:10Z",
        cumulateDateTime="2020-01-01T06:10:50Z",
        cumulateAmountWh=7.1944447,
        reportTime=t - 10,
    )
    stopped = report(
        "d-1",
        activateDateTime="2020-01-01T06:09:10Z",
        startDateTime="2020-01-01T06:09:10Z",
        cumulateAmountWh=50.361103,
        stopDateTime="2020-01-01T06:20:00Z",
        reportTime=t - 5,
    )
    r = await ingest(deal_client, device, [started])
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "changed": 1}
    # an older report, then the same report again: nothing changes, nothing is published
    assert (await ingest(deal_client, device, [created])).json() == {"received": 1, "changed": 0}
    assert (await ingest(deal_client, device, [started])).json() == {"received": 1, "changed": 0}
    listed = (await deal_client.get(f"{STAFF}/list", params=reg.cc(), headers=op)).json()
    assert listed == [started]
    # one batch with several reports of one deal: the newest wins, whatever the order
    assert (await ingest(deal_client, device, [stopped, created])).json() == {"received": 2, "changed": 1}
    assert (await deal_client.get(f"{STAFF}/list", params=reg.cc(), headers=op)).json() == [stopped]
    # same second: the report that went further wins
    deactivated = {**stopped, "deactivateDateTime": "2020-01-01T06:20:00Z"}
    assert (await ingest(deal_client, device, [deactivated])).json() == {"received": 1, "changed": 1}
    assert (await ingest(deal_client, device, [stopped])).json() == {"received": 1, "changed": 0}
    assert (await deal_client.get(f"{STAFF}/list", params=reg.cc(), headers=op)).json() == [deactivated]
    events = await outbox_events(stack, company_id)
    assert [(e["topic"], e["key"]) for e in events] == [("deals.deal.v1", "d-1")] * 3
    assert [e["data"]["report"] for e in events] == [started, stopped, deactivated]
    # the data written once from the row is what the payload model writes
    assert all(
        DealReportedV1.model_validate(e["data"]).model_dump(mode="json", by_alias=True, exclude_none=True) == e["data"]
        for e in events
    )
    assert events[0]["data"]["community_code"] == COMMUNITY and events[0]["data"]["report_time"] == t - 10


async def test_a_batch_with_unknown_codes_or_bad_items_writes_nothing(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int, stack: Stack
) -> None:
    reg = await register(deal_app, company_id)
    device = internal_headers(company_id, "device")
    good = report("ok-1", reportTime=now_s())
    r = await ingest(
        deal_client,
        device,
        [good, report("x-1", clusterId="nope"), report("x-2", communityId="other"), report("x-3")],
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", "deals", 1, "clusterId"], ["body", "deals", 2, "clusterId"]]
    assert detail[0]["msg"] == f"unknown communityId/clusterId {COMMUNITY}/nope"
    bad = [
        report("b-1", createDateTime="yesterday"),
        report("b-2", reportTime=-1),
        report("b-3", type="gift"),
        {**report("b-4"), "surprise": 1},
        {k: v for k, v in report("b-5").items() if k != "dealId"},
        report("b-6", cumulateAmountWh=-1),
        report("b-7", createDateTime="2020-01-01T06:05:40"),  # no offset
    ]
    r = await ingest(deal_client, device, [good, *bad])
    assert r.status_code == 422
    assert sorted({d["loc"][2] for d in r.json()["detail"]}) == list(range(1, len(bad) + 1))
    assert (await ingest(deal_client, device, [])).status_code == 422
    assert (
        await deal_client.post(INGEST, content=b"{", headers={**device, "content-type": "application/json"})
    ).status_code == 422
    op = internal_headers(company_id, "operator")
    assert (await deal_client.get(f"{STAFF}/list", params=reg.cc(), headers=op)).json() == []
    assert await outbox_events(stack, company_id) == []
    # members may not ingest
    assert (await ingest(deal_client, internal_headers(company_id, "member"), [good])).status_code == 403


# ----------------------------------------------------------------------------- staff views
async def test_staff_views_have_the_seed_shapes(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    t = now_s()
    live = report(
        "f6f9743d-d6f0-4611-a5c9-b166c43acf95",
        compensationTargetVoltageReferenceGridCurrentA=-2.0,
        activateDateTime="2020-01-01T06:09:10Z",
        warmUpDateTime="2020-01-01T06:09:10Z",
        dischargeUnitCompensatedGridCurrentA=-1.0,
        chargeUnitCompensatedGridCurrentA=1.0,
        startDateTime="2020-01-01T06:09:10Z",
        cumulateDateTime="2020-01-01T06:10:50Z",
        cumulateAmountWh=7.1944447,
        reportTime=t,
    )
    done = report(
        "95bafe56-76b7-403f-8e6d-7f6e9af55d21",
        unitId="E004",
        requestUnitId="E004",
        chargeUnitId="E004",
        createDateTime="2019-12-31T15:19:10Z",
        cumulateAmountWh=50.361103,
        stopDateTime="2019-12-31T15:34:30Z",
        deactivateDateTime="2019-12-31T15:34:30Z",
        reportTime=t,
    )
    stale = report("stale-1", createDateTime="2020-01-02T00:00:00Z", cumulateAmountWh=1.5, reportTime=t - 301)
    assert (await ingest(deal_client, op, [live, done, stale])).status_code == 200

    r = await deal_client.get(f"{STAFF}/liveList", params=reg.cc(), headers=op)
    assert r.status_code == 200 and "x-result-truncated" not in r.headers
    assert r.json() == [live]
    assert list(r.json()[0]) == SEED_LIVE_KEYS  # the seed's example, key for key and in its order
    assert all(same_as_model(Deal, d) for d in r.json())

    every = (await deal_client.get(f"{STAFF}/list", params=reg.cc(), headers=op)).json()
    assert [d["dealId"] for d in every] == [done["dealId"], live["dealId"], "stale-1"]  # by createDateTime
    window = {**reg.cc(), "datetimeFrom": "2020-01-01T06:05:40Z", "datetimeTo": "2020-01-02T00:00:00Z"}
    assert (await deal_client.get(f"{STAFF}/list", params=window, headers=op)).json() == [live]
    paged = {**reg.cc(), "limit": 1, "offset": 1}
    assert (await deal_client.get(f"{STAFF}/list", params=paged, headers=op)).json() == [live]

    budo = (await deal_client.get(f"{STAFF}/liveList", params={**reg.cc(), "formatType": "BUDO"}, headers=op)).json()
    assert budo == [
        {
            "id": live["dealId"],
            "dischargingUnit": "E001",
            "chargingUnit": "E003",
            "isMasterDeal": False,
            "request": "charge",
            "requester": "E003",
            "responder": "E001",
            "startTime": "2020-01-01T06:05:40Z",
        }
    ]
    assert same_as_model(BudoDeal, budo[0], exclude_none=False)

    r = await deal_client.get(f"{STAFF}/datetimeRange", params=reg.cc(), headers=op)
    assert r.json() == {"min": "2019-12-31T15:19:10Z", "max": "2020-01-02T00:00:00Z"}
    sums = (
        await deal_client.get(
            f"{STAFF}/sumOfCumulateAmountWhsByHour", params={**reg.cc(), "timezone": "+09:00"}, headers=op
        )
    ).json()
    assert sums == {"0": 50.361103, "9": 1.5, "15": 7.1944447}
    assert list(sums) == ["0", "9", "15"]
    windowed = {**reg.cc(), "timezone": "Z", "datetimeFrom": "2020-01-01T00:00:00Z"}
    assert (await deal_client.get(f"{STAFF}/sumOfCumulateAmountWhsByHour", params=windowed, headers=op)).json() == {
        "0": 1.5,
        "6": 7.1944447,
    }


async def test_empty_cluster_answers_empty(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "admin")
    for path in ("liveList", "list"):
        assert (await deal_client.get(f"{STAFF}/{path}", params=reg.cc(), headers=op)).json() == []
    assert (await deal_client.get(f"{STAFF}/datetimeRange", params=reg.cc(), headers=op)).json() == {}
    params = {**reg.cc(), "timezone": "Europe/Berlin"}
    assert (await deal_client.get(f"{STAFF}/sumOfCumulateAmountWhsByHour", params=params, headers=op)).json() == {}


# ----------------------------------------------------------------------------- resident views
async def test_resident_views_mask_other_units_and_keep_zero_values(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    t = now_s()
    mine = report(
        "41044395-bde7-46e6-acce-0bbd447f3dbf",
        createDateTime="2020-01-01T17:23:10Z",
        requestAmountWh=1420,
        startDateTime="2020-01-01T17:26:40Z",
        cumulateAmountWh=7.1944447,
        isMaster=False,
        reportTime=t,
    )
    zero = report(
        "zero-1",
        createDateTime="2020-01-02T00:00:00Z",
        dealAmountWh=0,
        cumulateAmountWh=0.0,
        stopDateTime="2020-01-02T00:01:00Z",
        deactivateDateTime="2020-01-02T00:01:00Z",
        reportTime=t,
    )
    others = report(
        "others-1", chargeUnitId="E002", dischargeUnitId="E004", requestUnitId="E002", acceptUnitId="E004", reportTime=t
    )
    assert (await ingest(deal_client, op, [mine, zero, others])).status_code == 200
    e001 = resident_headers(internal_headers, reg, "E001")

    live = (await deal_client.get(f"{RESIDENT}/liveList", params=reg.ccu("E001"), headers=e001)).json()
    assert live == [
        {
            "createDateTime": "2020-01-01T17:23:10Z",
            "dealId": "41044395-bde7-46e6-acce-0bbd447f3dbf",
            "dischargeUnitId": "E001",
            "chargeUnitId": "******",
            "type": "charge",
            "requestUnitId": "******",
            "requestAmountWh": 1420,
            "acceptUnitId": "E001",
            "dealAmountWh": 50,
            "isMaster": False,
            "startDateTime": "2020-01-01T17:26:40Z",
            "cumulateAmountWh": 7.1944447,
        }
    ]
    # the whitelist's order: createDateTime, dealId, dischargeUnitId, chargeUnitId, type, requestUnitId, ...
    assert list(live[0]) == [
        "createDateTime",
        "dealId",
        "dischargeUnitId",
        "chargeUnitId",
        "type",
        "requestUnitId",
        "requestAmountWh",
        "acceptUnitId",
        "dealAmountWh",
        "isMaster",
        "startDateTime",
        "cumulateAmountWh",
    ]
    listed = (await deal_client.get(f"{RESIDENT}/list", params=reg.ccu("E001"), headers=e001)).json()
    assert [d["dealId"] for d in listed] == [mine["dealId"], "zero-1"]
    assert listed[1] == {
        "createDateTime": "2020-01-02T00:00:00Z",
        "dealId": "zero-1",
        "dischargeUnitId": "E001",
        "chargeUnitId": "******",
        "type": "charge",
        "requestUnitId": "******",
        "requestAmountWh": 1358,
        "acceptUnitId": "E001",
        "dealAmountWh": 0,
        "cumulateAmountWh": 0.0,
        "stopDateTime": "2020-01-02T00:01:00Z",
        "deactivateDateTime": "2020-01-02T00:01:00Z",
    }
    assert all(same_as_model(ResidentDeal, d) for d in listed)
    budo = (
        await deal_client.get(f"{RESIDENT}/list", params={**reg.ccu("E001"), "formatType": "budo"}, headers=e001)
    ).json()
    assert budo[0] == {
        "id": mine["dealId"],
        "dischargingUnit": "E001",
        "chargingUnit": "******",
        "isMasterDeal": False,
        "request": "charge",
        "requester": "******",
        "responder": "E001",
        "startTime": "2020-01-01T17:23:10Z",
    }
    assert (await deal_client.get(f"{RESIDENT}/datetimeRange", params=reg.ccu("E001"), headers=e001)).json() == {
        "min": "2020-01-01T17:23:10Z",
        "max": "2020-01-02T00:00:00Z",
    }
    sums = await deal_client.get(
        f"{RESIDENT}/sumOfCumulateAmountWhsByHour", params={**reg.ccu("E001"), "timezone": "+0900"}, headers=e001
    )
    assert sums.json() == {"2": 7.1944447, "9": 0.0}
    # E002 takes part only in others-1 (charging side); it sees E004 masked
    e002 = resident_headers(internal_headers, reg, "E002")
    theirs = (await deal_client.get(f"{RESIDENT}/list", params=reg.ccu("E002"), headers=e002)).json()
    assert [(d["dealId"], d["chargeUnitId"], d["dischargeUnitId"]) for d in theirs] == [("others-1", "E002", "******")]


# ----------------------------------------------------------------------------- guards and tenants
async def test_guards_answer_the_seed_texts(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    e001 = resident_headers(internal_headers, reg, "E001")
    cases = [
        (f"{STAFF}/list", {"communityId": COMMUNITY}, op, 400, "no param : communityId, clusterId"),
        (f"{STAFF}/list", {**reg.cc(), "clusterId": "nope"}, op, 400, "bad param values : communityId, clusterId"),
        (f"{STAFF}/liveList", reg.cc(), internal_headers(company_id, "member"), 403, "staff required"),
        (f"{STAFF}/liveList", reg.cc(), internal_headers(company_id, "device"), 403, "staff required"),
        (f"{RESIDENT}/list", reg.cc(), e001, 400, "no param : communityId, clusterId, unitId"),
        (f"{RESIDENT}/list", reg.ccu("E009"), e001, 400, "bad param values : communityId, clusterId, unitId"),
        (f"{RESIDENT}/list", reg.ccu("E002"), e001, 403, "not a resident"),
        (f"{RESIDENT}/liveList", reg.ccu("E001"), op, 403, "not a resident"),  # staff are not residents
        (f"{STAFF}/sumOfCumulateAmountWhsByHour", reg.cc(), op, 400, "no param : timezone"),
        (
            f"{STAFF}/list",
            {**reg.cc(), "datetimeFrom": "2020-01-02T00:00:00Z", "datetimeTo": "2020-01-01T00:00:00Z"},
            op,
            400,
            "“datetimeTo” should be greater than “datetimeFrom”",
        ),
        (f"{STAFF}/list", {**reg.cc(), "formatType": "xml"}, op, 400, "bad param value : formatType 'xml' (only budo)"),
    ]
    for path, params, headers, status, text in cases:
        r = await deal_client.get(path, params=params, headers=headers)
        assert (r.status_code, r.json()) == (status, {"detail": text}), (path, params)


async def test_another_company_sees_nothing(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    ours = await register(deal_app, company_id)
    other_company = company_id + 500_000
    theirs = await register(deal_app, other_company)  # the same codes in another company
    op = internal_headers(company_id, "operator")
    t = now_s()
    assert (await ingest(deal_client, op, [report("shared-id", cumulateAmountWh=1.0, reportTime=t)])).status_code == 200
    their_op = internal_headers(other_company, "operator")
    # the same deal id in the other company is another deal
    assert (
        await ingest(deal_client, their_op, [report("shared-id", cumulateAmountWh=9.0, reportTime=t - 100)])
    ).json()["changed"] == 1
    for path in ("liveList", "list"):
        mine = (await deal_client.get(f"{STAFF}/{path}", params=ours.cc(), headers=op)).json()
        assert [d["cumulateAmountWh"] for d in mine] == [1.0]
    assert [
        d["cumulateAmountWh"]
        for d in (await deal_client.get(f"{STAFF}/list", params=theirs.cc(), headers=their_op)).json()
    ] == [9.0]
    # a company without that cluster: unknown codes
    stranger = internal_headers(other_company + 1, "operator")
    r = await deal_client.get(f"{STAFF}/list", params=ours.cc(), headers=stranger)
    assert (r.status_code, r.json()) == (400, {"detail": "bad param values : communityId, clusterId"})
    # a resident of the other company's E001 is not a resident of ours
    stranger_member = internal_headers(company_id, "member", subject=str(theirs.residents["E001"]))
    r = await deal_client.get(f"{RESIDENT}/list", params=ours.ccu("E001"), headers=stranger_member)
    assert (r.status_code, r.json()) == (403, {"detail": "not a resident"})


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("value", "hour"),
    [
        ("Z", "6"),
        ("+09:00", "15"),
        (" 09:00", "15"),  # an unencoded "+" arrives as a space
        ("+0900", "15"),
        ("-05:30", "0"),
        ("Asia/Tokyo", "15"),
        ("Europe/Berlin", "7"),
        ("America/New_York", "1"),
    ],
)
async def test_timezones(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int, value: str, hour: str
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    await ingest(deal_client, op, [report("tz-1", cumulateAmountWh=2.0, reportTime=now_s())])  # 06:05:40Z
    r = await deal_client.get(
        f"{STAFF}/sumOfCumulateAmountWhsByHour", params={**reg.cc(), "timezone": value}, headers=op
    )
    assert r.status_code == 200, r.text
    assert r.json() == {hour: 2.0}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"timezone": "Mars/Olympus"}, "bad param value : timezone"),
        ({"timezone": "+25:00"}, "bad param value : timezone"),
        ({"timezone": "+9"}, "bad param value : timezone"),
        ({"timezone": "../../etc/passwd"}, "bad param value : timezone"),
        ({"timezone": "localtime"}, "bad param value : timezone"),  # a zone file of the host, not a tz name
        ({"timezone": "Z", "datetimeFrom": "yesterday"}, "datetimeFrom must be an ISO 8601"),
        ({"timezone": "Z", "datetimeTo": "2020-01-01T00:00:00"}, "datetimeTo needs an offset"),
        ({"timezone": "Z", "datetimeTo": "2020-13-01T00:00:00Z"}, "datetimeTo is not a valid date-time"),
    ],
)
async def test_bad_parameters_are_400s(
    deal_app: FastAPI,
    deal_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    params: dict[str, str],
    fragment: str,
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    r = await deal_client.get(f"{STAFF}/sumOfCumulateAmountWhsByHour", params={**reg.cc(), **params}, headers=op)
    assert r.status_code == 400 and fragment in r.json()["detail"], r.text


async def test_a_list_past_the_cap_says_it_was_cut(migrated: Stack, internal_headers: Any, company_id: int) -> None:
    app = create_app(DealSettings(list_max=2))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://deal") as client:
            reg = await register(app, company_id)
            op = internal_headers(company_id, "operator")
            t = now_s()
            deals = [report(f"cap-{i}", createDateTime=f"2020-01-0{i + 1}T00:00:00Z", reportTime=t) for i in range(3)]
            assert (await ingest(client, op, deals)).status_code == 200
            r = await client.get(f"{STAFF}/list", params=reg.cc(), headers=op)
            assert r.headers["x-result-truncated"] == "true"
            assert [d["dealId"] for d in r.json()] == ["cap-0", "cap-1"]
            r = await client.get(f"{STAFF}/list", params={**reg.cc(), "limit": 2}, headers=op)
            assert "x-result-truncated" not in r.headers and len(r.json()) == 2
            r = await client.get(f"{STAFF}/list", params={**reg.cc(), "limit": 2, "offset": 2}, headers=op)
            assert [d["dealId"] for d in r.json()] == ["cap-2"]


# ----------------------------------------------------------------------------- hourly sums across DST
DST_DAYS = (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC))
deal_strategy = st.lists(
    st.tuples(
        st.sampled_from(DST_DAYS),
        st.integers(-6 * 3600, 30 * 3600),  # seconds from the DST day's UTC midnight
        st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False),
        st.sampled_from(["E001", "E002", "E003"]),  # charging unit; E004 discharges
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    deals=deal_strategy,
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "+01:00", "Z"]),
    window=st.one_of(st.none(), st.tuples(st.integers(0, 12), st.integers(13, 30))),
)
async def test_hourly_sums_match_a_reference_across_dst(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, deals: list[Any], zone: str, window: Any
) -> None:
    company_id = 3_000_000 + uuid.uuid4().int % 1_000_000
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    t = now_s()
    reports = []
    for i, (day, seconds, amount, unit) in enumerate(deals):
        created = day + timedelta(seconds=seconds)
        reports.append(
            report(
                f"h-{i}",
                createDateTime=created.isoformat().replace("+00:00", "Z"),
                cumulateAmountWh=float(amount),
                chargeUnitId=unit,
                dischargeUnitId="E004",
                reportTime=t,
            )
        )
    assert (await ingest(deal_client, op, reports)).status_code == 200
    tz = ZoneInfo(zone) if "/" in zone else (UTC if zone == "Z" else ZoneInfo("Etc/GMT-1"))
    params = {"timezone": zone}
    start = end = None
    if window is not None:
        start, end = DST_DAYS[0] + timedelta(hours=window[0]), DST_DAYS[0] + timedelta(hours=window[1])
        params |= {"datetimeFrom": start.isoformat(), "datetimeTo": end.isoformat()}

    def expected(unit: str | None) -> dict[str, float]:
        sums: dict[int, Decimal] = defaultdict(Decimal)
        for day, seconds, amount, charging in deals:
            created = day + timedelta(seconds=seconds)
            if start is not None and not start <= created < end:  # type: ignore[operator]
                continue
            if unit is not None and unit not in (charging, "E004"):
                continue
            sums[created.astimezone(tz).hour] += Decimal(str(float(amount)))
        return {str(h): float(sums[h]) for h in sorted(sums)}

    staff = await deal_client.get(f"{STAFF}/sumOfCumulateAmountWhsByHour", params={**reg.cc(), **params}, headers=op)
    assert staff.status_code == 200, staff.text
    assert staff.json() == expected(None)
    for unit in ("E001", "E004"):
        who = resident_headers(internal_headers, reg, unit)
        got = await deal_client.get(
            f"{RESIDENT}/sumOfCumulateAmountWhsByHour", params={**reg.ccu(unit), **params}, headers=who
        )
        assert got.json() == expected(unit)
