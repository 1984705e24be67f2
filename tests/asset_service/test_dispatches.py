"""Dispatch history: written only by the ingest.dispatches.v1 worker, read over GET /api/dispatches."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from asset_helpers import create_asset

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce as produce_to
from gridcommons.testing.kafka import topic_reader
from gridcommons.testing.plugin import Stack, ingest_headers
from gridcommons.timeutil import quarter_hours

TOPIC = "ingest.dispatches.v1"
DLQ = f"{TOPIC}.dlq"


def asset_body(code: str, region: str = "DE", area: str = "50HZ") -> dict[str, str]:
    return {"code": code, "name": code, "type": "BESS", "region": region, "delivery_area": area, "provider": "EBX"}


async def new_asset(client: httpx.AsyncClient, headers: dict[str, str], code: str, region: str = "DE") -> str:
    area = "50HZ" if region == "DE" else "PSE"
    return await create_asset(client, headers, asset_body(code, region, area))


def command(asset_id: str, period: datetime, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "source": "/optimiser",
        "published_at": "2026-06-01T10:00:00Z",
        "asset_id": asset_id,
        "dispatch_time": (period - timedelta(minutes=5)).isoformat(),
        "delivery_period_start": period.isoformat(),
        "target_power": {"amount": "1.5", "unit": "MW"},
        "nominal_power": {"amount": 2, "unit": "MW"},
        "power_imbalance": {"amount": "-0.25", "unit": "MW"},
        "soc_imbalance": {"amount": "0.000000000000000001", "unit": "MW"},
    }
    body.update(over)
    return body


def envelope(company_id: int, data: dict[str, Any], **attrs: Any) -> CloudEvent:
    fields: dict[str, Any] = {"source": "/optimiser", "type": "org.gridcommons.ingest.dispatch", **attrs}
    return CloudEvent(companyid=str(company_id), data=data, **fields)


_sign: Any = None  # the bearer_token fixture (set for every test below)


@pytest.fixture(autouse=True)
def _credentials(bearer_token: Any) -> None:
    global _sign
    _sign = bearer_token


async def produce(messages: list[Any], company_id: int) -> None:
    """Send with a device credential of ``company_id`` (messages with their own headers keep them)."""
    await produce_to(
        TOPIC, client_id="h5-dispatch-tests", messages=messages, headers=ingest_headers(_sign(company_id, "device"))
    )


async def produce_events(events: list[CloudEvent]) -> None:
    """Each envelope with a device credential of its own companyid."""
    assert all(e.companyid is not None for e in events)
    messages = [
        (str(e.data["asset_id"]).encode(), e.to_bytes(), e.id, ingest_headers(_sign(int(str(e.companyid)), "device")))
        for e in events
    ]
    await produce_to(TOPIC, client_id="h5-dispatch-tests", messages=messages)


async def wait_dispatches(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any], count: int, timeout: float = 90.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get("/api/dispatches", params={"limit": 1000, **params}, headers=headers)
        assert r.status_code == 200, r.text
        got = r.json()["dispatches"]
        if len(got) >= count or time.monotonic() > deadline:
            assert len(got) == count, f"{len(got)} dispatches, expected {count}"
            return list(got)
        await asyncio.sleep(0.1)


DAY_PARAMS = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


async def test_commands_are_recorded_and_read_back(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "d1")
    b = await new_asset(asset_client, op, "d2")
    p0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    c1 = command(a, p0)
    c2 = command(b, p0 + timedelta(minutes=15), target_power={"amount": 3, "unit": "MW"})
    # the envelope form: event_id/source/published_at come from the envelope when absent from data
    bare = {
        k: v for k, v in command(a, p0 + timedelta(hours=1)).items() if k not in ("event_id", "source", "published_at")
    }
    e3 = envelope(company_id, bare, source="/from-envelope")
    # the plain form: the payload with a company_id
    c4 = command(a, p0 + timedelta(hours=2))
    await produce_events([envelope(company_id, c1), envelope(company_id, c2), e3])
    await produce([(a.encode(), orjson.dumps({**c4, "company_id": company_id}), None)], company_id)

    member = internal_headers(company_id, "member")
    got = await wait_dispatches(asset_client, member, {"asset_ids": f"{a},{b}", **DAY_PARAMS}, 4)
    by_event = {d["event_id"]: d for d in got}
    d1 = by_event[c1["event_id"]]
    assert d1 == {
        "source": "/optimiser",
        "event_id": c1["event_id"],
        "published_at": "2026-06-01T10:00:00Z",
        "asset_id": a,
        "dispatch_time": "2026-06-01T09:55:00Z",
        "delivery_period_start": "2026-06-01T10:00:00Z",
        "target_power": {"amount": "1.5", "unit": "MW"},
        "nominal_power": {"amount": "2", "unit": "MW"},
        "power_imbalance": {"amount": "-0.25", "unit": "MW"},
        "soc_imbalance": {"amount": "0.000000000000000001", "unit": "MW"},
    }
    assert by_event[c2["event_id"]]["target_power"] == {"amount": "3", "unit": "MW"}
    d3 = by_event[e3.id]
    assert d3["source"] == "/from-envelope" and d3["published_at"] == e3.time.astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert c4["event_id"] in by_event
    # ordered by dispatch_time
    assert [d["dispatch_time"] for d in got] == sorted(d["dispatch_time"] for d in got)

    # filters: asset_ids (repeated form), from/to on dispatch_time [from, to), delivery_day
    only_b = await asset_client.get("/api/dispatches", params={"asset_ids": [b], **DAY_PARAMS}, headers=member)
    assert [d["event_id"] for d in only_b.json()["dispatches"]] == [c2["event_id"]]
    window = await asset_client.get(
        "/api/dispatches",
        params={"asset_ids": [a, b], "from": "2026-06-01T09:55:00Z", "to": "2026-06-01T10:11:00Z"},
        headers=member,
    )
    assert [d["event_id"] for d in window.json()["dispatches"]] == [c1["event_id"], c2["event_id"]]
    window = await asset_client.get(
        "/api/dispatches",
        params={"asset_ids": [a, b], "from": "2026-06-01T09:55:00.000001Z", "to": "2026-06-01T10:11:00Z"},
        headers=member,
    )
    assert [d["event_id"] for d in window.json()["dispatches"]] == [c2["event_id"]]
    day = await asset_client.get(
        "/api/dispatches", params={"asset_ids": a, "delivery_day": "2026-06-01"}, headers=member
    )
    assert len(day.json()["dispatches"]) == 3
    both = await asset_client.get(
        "/api/dispatches",
        params={
            "asset_ids": a,
            "delivery_day": "2026-06-01",
            "from": "2026-06-01T10:30:00Z",
            "to": "2026-06-02T00:00:00Z",
        },
        headers=member,
    )
    assert len(both.json()["dispatches"]) == 2
    none = await asset_client.get(
        "/api/dispatches", params={"asset_ids": a, "delivery_day": "2026-06-02"}, headers=member
    )
    assert none.json()["dispatches"] == []
    # pagination
    page = await asset_client.get(
        "/api/dispatches", params={"asset_ids": f"{a},{b}", "limit": 2, "offset": 1, **DAY_PARAMS}, headers=member
    )
    assert page.json()["limit"] == 2 and page.json()["offset"] == 1
    assert [d["event_id"] for d in page.json()["dispatches"]] == [d["event_id"] for d in got[1:3]]
    # unknown ids: empty, not an error
    unknown = await asset_client.get("/api/dispatches", params={"asset_ids": "NOPE_1", **DAY_PARAMS}, headers=member)
    assert unknown.status_code == 200 and unknown.json()["dispatches"] == []


async def test_redelivery_writes_once_and_publishes_once(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "rd")
    c = command(a, datetime(2026, 6, 2, 0, 0, tzinfo=UTC))
    ev = envelope(company_id, c)
    marker = command(a, datetime(2026, 6, 2, 0, 15, tzinfo=UTC))
    # the same envelope twice (same ce_id), the same command again with another ce_id and without one
    await produce_events([ev, ev, envelope(company_id, c)])
    await produce([(a.encode(), orjson.dumps({**c, "company_id": company_id}), None)], company_id)
    await produce_events([envelope(company_id, marker)])
    got = await wait_dispatches(asset_client, op, {"asset_ids": a, "delivery_day": "2026-06-02"}, 2)
    await asyncio.sleep(0.5)
    got = await wait_dispatches(asset_client, op, {"asset_ids": a, "delivery_day": "2026-06-02"}, 2)
    assert sorted(d["event_id"] for d in got) == sorted([c["event_id"], marker["event_id"]])
    import asyncpg

    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM asset.outbox WHERE payload->>'type' = 'org.gridcommons.assets.dispatch.recorded' "
            "AND payload->>'companyid' = $1",
            str(company_id),
        )
        data = await conn.fetchval(
            "SELECT payload->'data' FROM asset.outbox WHERE payload->>'companyid' = $1 AND payload->'data'->>'event_id' = $2",
            str(company_id),
            c["event_id"],
        )
    finally:
        await conn.close()
    assert n == 2
    assert orjson.loads(data)["target_power"] == {"amount": "1.5", "unit": "MW"}


def dlq_reader() -> AIOKafkaConsumer:
    return topic_reader(DLQ)


async def dead_letters(reader: AIOKafkaConsumer, keys: set[bytes], timeout: float = 30.0) -> dict[bytes, Any]:
    got: dict[bytes, Any] = {}
    deadline = time.monotonic() + timeout
    while not keys <= got.keys():
        assert time.monotonic() < deadline, f"dead letters {sorted(got)} of {sorted(keys)}"
        for records in (await reader.getmany(timeout_ms=300)).values():
            for r in records:
                if r.key in keys:
                    got[r.key] = r
    return got


async def test_poison_messages_go_to_the_dlq(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "px")
    other_tenant_asset = await new_asset(asset_client, internal_headers(company_id + 500_000, "admin"), "py")
    p = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    tag = uuid.uuid4().hex[:8]
    bad: dict[str, bytes] = {
        "json": b"{not json",
        "array": b"[1, 2]",
        "other-company": orjson.dumps({**command(a, p), "company_id": company_id + 1}),
        "bad-company": orjson.dumps({**command(a, p), "company_id": "acme"}),
        "unaligned": envelope(company_id, command(a, p + timedelta(minutes=7))).to_bytes(),
        "wrong-unit": envelope(company_id, command(a, p, target_power={"amount": 1, "unit": "kW"})).to_bytes(),
        "missing-field": envelope(
            company_id, {k: v for k, v in command(a, p).items() if k != "nominal_power"}
        ).to_bytes(),
        "naive-time": envelope(company_id, command(a, p, dispatch_time="2026-06-03T11:00:00")).to_bytes(),
        "extra-field": envelope(company_id, command(a, p, colour="red")).to_bytes(),
        "bad-event-id": envelope(company_id, command(a, p, event_id="not-a-uuid")).to_bytes(),
        "unknown-asset": envelope(company_id, command("DE_50HZ_NOPE_1", p)).to_bytes(),
        "other-tenant": envelope(company_id, command(other_tenant_asset, p)).to_bytes(),
        "no-data": CloudEvent(source="/x", type="t", companyid=str(company_id)).to_bytes(),
    }
    good = command(a, p)
    reader = dlq_reader()
    await reader.start()
    try:
        await produce([(f"{tag}-{name}".encode(), value, None) for name, value in bad.items()], company_id)
        await produce_events([envelope(company_id, good)])
        got = await dead_letters(reader, {f"{tag}-{name}".encode() for name in bad})
    finally:
        await reader.stop()
    for name, value in bad.items():
        record = got[f"{tag}-{name}".encode()]
        assert record.value == value
        error = dict(record.headers)["dlq_error"].decode()
        assert error.startswith(("PoisonMessage", "ValidationFailed")), (name, error)
    assert "delivery_period_start" in dict(got[f"{tag}-unaligned".encode()].headers)["dlq_error"].decode()
    assert "unknown asset id" in dict(got[f"{tag}-other-tenant".encode()].headers)["dlq_error"].decode()
    other = dict(got[f"{tag}-other-company".encode()].headers)["dlq_error"].decode()
    assert "not the credential's company" in other
    # the good message after them was processed; nothing of the bad ones was written
    got_rows = await wait_dispatches(asset_client, op, {"asset_ids": a, "delivery_day": "2026-06-03"}, 1)
    assert [d["event_id"] for d in got_rows] == [good["event_id"]]


@pytest.mark.parametrize("region", ["DE", "PL"])
async def test_delivery_day_follows_the_region_calendar_on_dst_days(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, region: str
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "dst", region)
    events = []
    expected: dict[date, int] = {}
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        quarters = quarter_hours(day, region)
        expected[day] = len(quarters)
        # every quarter hour of the day, plus the last one of the day before and the first of the day after
        for start in [quarters[0] - timedelta(minutes=15), *quarters, quarters[-1] + timedelta(minutes=15)]:
            events.append(envelope(company_id, command(a, start)))
    assert expected == {date(2026, 3, 29): 92, date(2026, 10, 25): 100}
    await produce_events(events)
    await wait_dispatches(asset_client, op, {"asset_ids": a, **DAY_PARAMS}, len(events))
    for day, n in expected.items():
        got = await wait_dispatches(asset_client, op, {"asset_ids": a, "delivery_day": day.isoformat()}, n)
        starts = sorted(d["delivery_period_start"] for d in got)
        # local midnight: CET (+01:00) before the spring change, CEST (+02:00) before the autumn one
        first = "2026-03-28T23:00:00Z" if day.month == 3 else "2026-10-24T22:00:00Z"
        assert starts[0] == first
        last = "2026-03-29T21:45:00Z" if day.month == 3 else "2026-10-25T22:45:00Z"
        assert starts[-1] == last
    before = await asset_client.get(
        "/api/dispatches", params={"asset_ids": a, "delivery_day": "2026-03-28"}, headers=op
    )
    assert [d["delivery_period_start"] for d in before.json()["dispatches"]] == ["2026-03-28T22:45:00Z"]


async def test_bad_queries(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    h = internal_headers(company_id, "member")
    cases: list[dict[str, Any]] = [
        {},  # no asset_ids
        {"asset_ids": "", **DAY_PARAMS},
        {"asset_ids": " , ", **DAY_PARAMS},
        {"asset_ids": "A"},  # neither from/to nor delivery_day
        {"asset_ids": "A", "from": "2026-01-01T00:00:00Z"},
        {"asset_ids": "A", "to": "2026-01-01T00:00:00Z", "delivery_day": "2026-01-01"},
        {"asset_ids": "A", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"asset_ids": "A", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"asset_ids": "A", "from": "2026-01-01T00:00:00", "to": "2026-01-02T00:00:00Z"},  # naive
        {"asset_ids": "A", "from": "yesterday", "to": "2026-01-02T00:00:00Z"},
        {"asset_ids": "A", "delivery_day": "2026-02-30"},
        {"asset_ids": "A", "limit": 0, **DAY_PARAMS},
        {"asset_ids": "A", "limit": 1001, **DAY_PARAMS},
        {"asset_ids": "A", "offset": -1, **DAY_PARAMS},
        {"asset_ids": "X" * 129, **DAY_PARAMS},
        {"asset_ids": ",".join(f"A{i}" for i in range(1001)), **DAY_PARAMS},
        {"asset_ids": "A\x00", **DAY_PARAMS},
        {"asset_ids": "A", "from": "0001-01-01T00:00:00+14:00", "to": "2026-01-02T00:00:00Z"},
    ]
    for params in cases:
        r = await asset_client.get("/api/dispatches", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, list) and all({"loc", "msg", "type"} <= e.keys() for e in detail), r.text
    r = await asset_client.get("/api/dispatches", params={"asset_ids": "A"}, headers=h)
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {("query", "from"), ("query", "to")}


async def test_tenants_and_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "tr")
    c = command(a, datetime(2026, 6, 4, 8, 0, tzinfo=UTC))
    await produce_events([envelope(company_id, c)])
    await wait_dispatches(asset_client, op, {"asset_ids": a, **DAY_PARAMS}, 1)
    other = internal_headers(company_id + 500_000, "admin")
    r = await asset_client.get("/api/dispatches", params={"asset_ids": a, **DAY_PARAMS}, headers=other)
    assert r.status_code == 200 and r.json()["dispatches"] == []
    assert (
        await asset_client.get(
            "/api/dispatches", params={"asset_ids": a, **DAY_PARAMS}, headers=internal_headers(company_id, "device")
        )
    ).status_code == 403
    assert (await asset_client.get("/api/dispatches", params={"asset_ids": a, **DAY_PARAMS})).status_code == 401
    # read-only over HTTP
    assert (await asset_client.post("/api/dispatches", json=c, headers=op)).status_code == 405
