"""Asset statuses: ingestion over HTTP and Kafka, latest status, latest/history queries."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from asset_helpers import create_asset, outbox_events
from asset_helpers import iso as z
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce as produce_to
from gridcommons.testing.kafka import topic_reader
from gridcommons.testing.plugin import Stack, ingest_headers

TOPIC = "ingest.asset-statuses.v1"
INGEST = "/api/ingest/asset-statuses"
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
_companies = iter(range(3_000_000, 4_000_000))


async def new_asset(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> str:
    body = {"code": code, "name": code, "type": "PV", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    return await create_asset(client, headers, body)


def entry(asset_id: str, status: str, at: datetime, reasons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"asset_id": asset_id, "status": status, "effective_at": at.isoformat(), "reasons": reasons or []}


async def test_ingest_and_read(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "s1")
    b = await new_asset(asset_client, op, "s2")
    reason = {
        "category": "MAINTENANCE",
        "detail": "inverter swap",
        "source": "field-team",
        "attributes": {"ticket": 42},
    }
    body = {
        "statuses": [
            entry(a, "AVAILABLE", T0),
            # an offset other than UTC: stored and returned as the same instant in UTC
            {**entry(a, "UNAVAILABLE", T0 + timedelta(hours=2), [reason]), "effective_at": "2026-05-01T12:00:00+02:00"},
            entry(a, "LIMITED", T0 + timedelta(hours=1), [{"category": "GRID_CONSTRAINT"}]),
            entry(b, "OFFLINE", T0 + timedelta(minutes=30), [{"category": "COMMUNICATION", "detail": "no heartbeat"}]),
        ]
    }
    device = internal_headers(company_id, "device")
    r = await asset_client.post(INGEST, json=body, headers=device)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 4, "changed": 4}

    member = internal_headers(company_id, "member")
    latest_a = await asset_client.get(f"/api/assets/{a}/status", headers=member)
    assert latest_a.status_code == 200, latest_a.text
    got = latest_a.json()
    assert got["asset_id"] == a and got["status"] == "UNAVAILABLE" and got["effective_at"] == "2026-05-01T10:00:00Z"
    assert got["reasons"] == [reason]
    assert got["created_at"].endswith("Z")

    # latest mode: one entry per asset, ordered by asset id; comma-separated and repeated ids
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": f"{b},{a}", "latest": "true"}, headers=member
    )
    assert r.status_code == 200, r.text
    assert r.json()["limit"] == 50 and r.json()["offset"] == 0
    assert [(s["asset_id"], s["status"]) for s in r.json()["statuses"]] == [(a, "UNAVAILABLE"), (b, "OFFLINE")]
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": [a, b, a], "latest": True}, headers=member)
    assert len(r.json()["statuses"]) == 2
    # latest with a window: the status as of `to`
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": a, "latest": True, "to": z(T0 + timedelta(hours=2))}, headers=member
    )
    assert [s["status"] for s in r.json()["statuses"]] == ["LIMITED"]
    # latest + status filter: the assets whose latest entry has that status
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": [a, b], "latest": True, "status": "OFFLINE"}, headers=member
    )
    assert [s["asset_id"] for s in r.json()["statuses"]] == [b]
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": [a, b], "latest": True, "status": "AVAILABLE"}, headers=member
    )
    assert r.json()["statuses"] == []

    # history: [from, to), ordered by (asset_id, effective_at)
    r = await asset_client.get(
        "/api/asset-statuses",
        params={"asset_ids": [a, b], "from": z(T0), "to": z(T0 + timedelta(hours=2))},
        headers=member,
    )
    assert [(s["asset_id"], s["effective_at"]) for s in r.json()["statuses"]] == [
        (a, "2026-05-01T08:00:00Z"),
        (a, "2026-05-01T09:00:00Z"),
        (b, "2026-05-01T08:30:00Z"),
    ]
    r = await asset_client.get(
        "/api/asset-statuses",
        params={"asset_ids": [a, b], "from": z(T0), "status": ["LIMITED", "OFFLINE"], "limit": 1, "offset": 1},
        headers=member,
    )
    assert r.json()["limit"] == 1 and [s["asset_id"] for s in r.json()["statuses"]] == [b]
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": a, "to": z(T0 + timedelta(minutes=1))}, headers=member
    )
    assert [s["status"] for s in r.json()["statuses"]] == ["AVAILABLE"]
    # unknown ids: nothing, not an error
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": "NOPE_1", "latest": True}, headers=member)
    assert r.status_code == 200 and r.json()["statuses"] == []

    events = await outbox_events(stack, company_id, "org.gridcommons.assets.status.changed")
    assert len(events) == 4 and {e["topic"] for e in events} == {"assets.status.v1"}
    assert sorted((e["key"], e["data"]["effective_at"]) for e in events) == sorted(
        (s["asset_id"], z(datetime.fromisoformat(s["effective_at"]))) for s in body["statuses"]
    )
    assert all(e["subject"] == e["key"] for e in events)


async def test_ingest_is_idempotent_by_asset_and_instant(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "idem")
    body = {"statuses": [entry(a, "AVAILABLE", T0), entry(a, "LIMITED", T0 + timedelta(hours=1))]}
    assert (await asset_client.post(INGEST, json=body, headers=op)).json() == {"received": 2, "changed": 2}
    first = (await asset_client.get(f"/api/assets/{a}/status", headers=op)).json()
    assert (await asset_client.post(INGEST, json=body, headers=op)).json() == {"received": 2, "changed": 0}
    changed = {"statuses": [entry(a, "OFFLINE", T0 + timedelta(hours=1), [{"category": "COMMUNICATION"}])]}
    assert (await asset_client.post(INGEST, json=changed, headers=op)).json() == {"received": 1, "changed": 1}
    now = (await asset_client.get(f"/api/assets/{a}/status", headers=op)).json()
    assert now["status"] == "OFFLINE" and now["created_at"] == first["created_at"]
    assert now["reasons"] == [{"category": "COMMUNICATION", "detail": None, "source": None, "attributes": {}}]
    history = await asset_client.get("/api/asset-statuses", params={"asset_ids": a, "from": z(T0)}, headers=op)
    assert len(history.json()["statuses"]) == 2
    assert len(await outbox_events(stack, company_id, "org.gridcommons.assets.status.changed")) == 3


async def test_bad_ingest_writes_nothing(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "bad")
    good = entry(a, "AVAILABLE", T0)
    bodies: list[Any] = [
        {"statuses": []},
        {"statuses": [entry(a, "AVAILABLE", T0 + timedelta(seconds=i)) for i in range(1001)]},
        {},
        [good],
        {"statuses": [good], "extra": 1},
        {"statuses": [{**good, "status": "ON_FIRE"}]},
        {"statuses": [{**good, "reasons": [{"category": "ALIENS"}]}]},
        {"statuses": [{**good, "reasons": [{"detail": "no category"}]}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER", "colour": "red"}]}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER"}] * 21}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER", "detail": "x" * 2001}]}]},
        {"statuses": [{**good, "effective_at": "2026-05-01T08:00:00"}]},  # naive
        {"statuses": [{**good, "effective_at": "soon"}]},
        {"statuses": [{**good, "asset_id": ""}]},
        {"statuses": [{**good, "asset_id": "X" * 129}]},
        {"statuses": [{k: v for k, v in good.items() if k != "status"}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER", "detail": "nul\x00"}]}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER", "attributes": {"k": ["a\x00"]}}]}]},
        {"statuses": [{**good, "reasons": [{"category": "OTHER", "attributes": {"k\x00": 1}}]}]},
        {"statuses": [{**good, "effective_at": "0001-01-01T00:00:00+14:00"}]},
        {"statuses": [good, {**good, "status": "OFFLINE"}]},  # duplicate key
        {"statuses": [good, {**good, "effective_at": "2026-05-01T10:00:00+02:00"}]},  # same instant
    ]
    for body in bodies:
        r = await asset_client.post(INGEST, json=body, headers=op)
        assert r.status_code == 422, (str(body)[:200], r.text)
        assert isinstance(r.json()["detail"], list)
    dup = await asset_client.post(INGEST, json={"statuses": [good, good]}, headers=op)
    assert "statuses[1] repeats statuses[0]" in dup.text
    # unknown asset ids (one of them another tenant's): 422 naming every offending item, nothing written
    other = await new_asset(asset_client, internal_headers(company_id + 500_000, "admin"), "other")
    r = await asset_client.post(
        INGEST,
        json={
            "statuses": [
                good,
                entry("NOPE_1", "AVAILABLE", T0),
                entry(other, "OFFLINE", T0),
                entry("NOPE_1", "LIMITED", T0 + timedelta(1)),
            ]
        },
        headers=op,
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [(e["loc"], e["type"]) for e in detail] == [
        (["body", "statuses", 1, "asset_id"], "value_error"),
        (["body", "statuses", 2, "asset_id"], "value_error"),
        (["body", "statuses", 3, "asset_id"], "value_error"),
    ]
    assert "NOPE_1" in detail[0]["msg"] and other in detail[1]["msg"]
    assert (await asset_client.get(f"/api/assets/{a}/status", headers=op)).status_code == 404


async def test_bad_queries(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    h = internal_headers(company_id, "member")
    cases: list[dict[str, Any]] = [
        {"latest": True},
        {"asset_ids": "", "latest": True},
        {"asset_ids": ",,", "latest": True},
        {"asset_ids": "A"},  # neither latest nor from/to
        {"asset_ids": "A", "latest": False},
        {"asset_ids": "A", "latest": "maybe"},
        {"asset_ids": "A", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"asset_ids": "A", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"asset_ids": "A", "from": "2026-01-01T00:00:00"},
        {"asset_ids": "A", "latest": True, "status": "ON_FIRE"},
        {"asset_ids": "A", "latest": True, "limit": 0},
        {"asset_ids": "A", "latest": True, "limit": 1001},
        {"asset_ids": "A", "latest": True, "offset": -1},
        {"asset_ids": ",".join(f"A{i}" for i in range(1001)), "latest": True},
        {"asset_ids": "A\x00B", "latest": True},
        {"asset_ids": "A", "from": "0001-01-01T00:00:00+14:00"},  # no UTC equivalent
        {"asset_ids": "A", "to": "9999-12-31T23:59:59-14:00"},
    ]
    for params in cases:
        r = await asset_client.get("/api/asset-statuses", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
        assert isinstance(r.json()["detail"], list)
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": "A"}, headers=h)
    assert r.json()["detail"][0]["loc"] == ["query", "latest"]


async def test_latest_status_404s(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "fresh")
    r = await asset_client.get(f"/api/assets/{a}/status", headers=op)
    assert r.status_code == 404 and r.json() == {"detail": f"Asset {a} has no status yet"}
    assert (await asset_client.get("/api/assets/A%00B/status", headers=op)).status_code == 422
    r = await asset_client.get("/api/assets/DE_AMPN_NOPE_1/status", headers=op)
    assert r.status_code == 404 and r.json() == {"detail": "Asset DE_AMPN_NOPE_1 not found"}


async def test_tenants_and_roles(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    a = await new_asset(asset_client, op, "ten")
    assert (
        await asset_client.post(INGEST, json={"statuses": [entry(a, "AVAILABLE", T0)]}, headers=op)
    ).status_code == 200
    other = internal_headers(company_id + 500_000, "admin")
    assert (await asset_client.get(f"/api/assets/{a}/status", headers=other)).status_code == 404
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": a, "latest": True}, headers=other)
    assert r.status_code == 200 and r.json()["statuses"] == []
    r = await asset_client.post(INGEST, json={"statuses": [entry(a, "OFFLINE", T0)]}, headers=other)
    assert r.status_code == 422
    assert (await asset_client.get(f"/api/assets/{a}/status", headers=op)).json()["status"] == "AVAILABLE"
    # roles: member reads but cannot ingest; device ingests but cannot read
    member = internal_headers(company_id, "member")
    device = internal_headers(company_id, "device")
    assert (
        await asset_client.post(INGEST, json={"statuses": [entry(a, "OFFLINE", T0)]}, headers=member)
    ).status_code == 403
    assert (await asset_client.get(f"/api/assets/{a}/status", headers=device)).status_code == 403
    r = await asset_client.get("/api/asset-statuses", params={"asset_ids": a, "latest": True}, headers=device)
    assert r.status_code == 403
    assert (await asset_client.post(INGEST, json={"statuses": [entry(a, "OFFLINE", T0)]})).status_code == 401
    assert (await asset_client.get(f"/api/assets/{a}/status", headers=member)).status_code == 200


# --- Kafka: ingest.asset-statuses.v1 ---------------------------------------------------------


async def produce(messages: list[Any], token: str | None = None) -> None:
    """Send to the topic; ``token`` is the credential of every message that brings no headers."""
    await produce_to(TOPIC, client_id="h5-status-tests", messages=messages, headers=ingest_headers(token))


def envelope(company_id: int, statuses: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        source="/devices/gw-1",
        type="org.gridcommons.ingest.asset-statuses",
        companyid=str(company_id),
        data={"statuses": statuses},
    )


async def wait_history(
    client: httpx.AsyncClient, headers: dict[str, str], asset_id: str, count: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(
            "/api/asset-statuses", params={"asset_ids": asset_id, "from": "2000-01-01T00:00:00Z"}, headers=headers
        )
        got = r.json()["statuses"]
        if len(got) >= count or time.monotonic() > deadline:
            assert len(got) == count, f"{len(got)} statuses, expected {count}"
            return list(got)
        await asyncio.sleep(0.1)


async def test_kafka_ingestion_redelivery_and_dlq(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack, bearer_token
) -> None:
    op = internal_headers(company_id, "operator")
    device = bearer_token(company_id, "device")
    a = await new_asset(asset_client, op, "kafka")
    first = envelope(company_id, [entry(a, "AVAILABLE", T0), entry(a, "LIMITED", T0 + timedelta(hours=1))])
    plain = {"company_id": company_id, "statuses": [entry(a, "OFFLINE", T0 + timedelta(hours=2))]}
    tag = uuid.uuid4().hex[:8]
    poison = {
        "json": b"{not json",
        "schema": envelope(company_id, [{**entry(a, "ON_FIRE", T0)}]).to_bytes(),
        "empty": envelope(company_id, []).to_bytes(),
        "unknown-asset": envelope(
            company_id, [entry(a, "AVAILABLE", T0 + timedelta(hours=5)), entry("NOPE_9", "AVAILABLE", T0)]
        ).to_bytes(),
        "other-company": orjson.dumps({"company_id": company_id + 1, "statuses": [entry(a, "AVAILABLE", T0)]}),
        "envelope-of-other-company": envelope(company_id + 1, [entry(a, "AVAILABLE", T0)]).to_bytes(),
    }
    uncredentialed = {"no-credential": envelope(company_id, [entry(a, "OFFLINE", T0 + timedelta(hours=7))]).to_bytes()}
    dlq = topic_reader(f"{TOPIC}.dlq")
    await dlq.start()
    try:
        await produce(
            [
                (a.encode(), first.to_bytes(), first.id),
                (a.encode(), first.to_bytes(), first.id),  # redelivered: same event id
                *[(f"{tag}-{k}".encode(), v, None) for k, v in poison.items()],
                *[(f"{tag}-{k}".encode(), v, None, []) for k, v in uncredentialed.items()],
                (a.encode(), orjson.dumps(plain), None),
            ],
            device,
        )
        got = await wait_history(asset_client, op, a, 3)
        poison |= uncredentialed
        keys = {f"{tag}-{k}".encode() for k in poison}
        dead: dict[bytes, Any] = {}
        deadline = time.monotonic() + 30
        while not keys <= dead.keys():
            assert time.monotonic() < deadline, sorted(dead)
            for records in (await dlq.getmany(timeout_ms=300)).values():
                dead.update({r.key: r for r in records if r.key in keys})
    finally:
        await dlq.stop()
    assert [s["status"] for s in got] == ["AVAILABLE", "LIMITED", "OFFLINE"]
    for k, v in poison.items():
        record = dead[f"{tag}-{k}".encode()]
        assert record.value == v and dict(record.headers)["dlq_error"].startswith(
            (b"PoisonMessage", b"ValidationFailed")
        ), k
    assert b"NOPE_9" in dict(dead[f"{tag}-unknown-asset".encode()].headers)["dlq_error"]
    assert b"not the credential's company" in dict(dead[f"{tag}-other-company".encode()].headers)["dlq_error"]
    assert b"credential missing" in dict(dead[f"{tag}-no-credential".encode()].headers)["dlq_error"]
    # the redelivery wrote nothing twice, the poison batch wrote nothing at all
    assert len(await outbox_events(stack, company_id, "org.gridcommons.assets.status.changed")) == 3


# --- property: latest and history against a reference computation ------------------------------

entries_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),  # asset index
        st.integers(0, 200),  # minutes after T0
        st.sampled_from(["UNKNOWN", "AVAILABLE", "LIMITED", "UNAVAILABLE", "OFFLINE"]),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda e: (e[0], e[1]),
)
window_strategy = st.tuples(st.one_of(st.none(), st.integers(0, 200)), st.one_of(st.none(), st.integers(1, 201)))
filter_strategy = st.one_of(st.none(), st.sets(st.sampled_from(["AVAILABLE", "LIMITED", "OFFLINE"]), min_size=1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=entries_strategy, window=window_strategy, status_filter=filter_strategy, latest=st.booleans())
async def test_queries_match_a_reference(
    asset_client: httpx.AsyncClient,
    internal_headers,
    entries: list[tuple[int, int, str]],
    window: tuple[int | None, int | None],
    status_filter: set[str] | None,
    latest: bool,
) -> None:
    cid = next(_companies)
    op = internal_headers(cid, "operator")
    ids = [await new_asset(asset_client, op, f"p{i}") for i in range(3)]
    body = {"statuses": [entry(ids[i], s, T0 + timedelta(minutes=m)) for i, m, s in entries]}
    assert (await asset_client.post(INGEST, json=body, headers=op)).status_code == 200
    start, end = window
    if start is not None and end is not None and end <= start:
        end = start + 1
    if not latest and start is None and end is None:
        start = 0
    params: dict[str, Any] = {"asset_ids": ids, "latest": latest, "limit": 1000}
    if start is not None:
        params["from"] = z(T0 + timedelta(minutes=start))
    if end is not None:
        params["to"] = z(T0 + timedelta(minutes=end))
    if status_filter:
        params["status"] = sorted(status_filter)
    r = await asset_client.get("/api/asset-statuses", params=params, headers=op)
    assert r.status_code == 200, r.text
    got = [(s["asset_id"], s["effective_at"], s["status"]) for s in r.json()["statuses"]]

    # reference: plain Python over the generated entries
    in_window = [(ids[i], m, s) for i, m, s in entries if (start is None or m >= start) and (end is None or m < end)]
    if latest:
        newest: dict[str, tuple[str, int, str]] = {}
        for e in in_window:
            if e[0] not in newest or e[1] > newest[e[0]][1]:
                newest[e[0]] = e
        chosen = [newest[k] for k in sorted(newest)]
    else:
        chosen = sorted(in_window, key=lambda e: (e[0], e[1]))
    if status_filter:
        chosen = [e for e in chosen if e[2] in status_filter]
    expected = [(a, z(T0 + timedelta(minutes=m)), s) for a, m, s in chosen]
    assert got == expected


@pytest.mark.parametrize("offset", [0, 1, 2])
async def test_latest_mode_pages_over_assets(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, offset: int
) -> None:
    op = internal_headers(company_id, "operator")
    ids = [await new_asset(asset_client, op, f"pg{i}") for i in range(3)]
    body = {"statuses": [entry(i, "AVAILABLE", T0 + timedelta(minutes=k)) for i in ids for k in range(3)]}
    assert (await asset_client.post(INGEST, json=body, headers=op)).status_code == 200
    r = await asset_client.get(
        "/api/asset-statuses", params={"asset_ids": ids, "latest": True, "limit": 1, "offset": offset}, headers=op
    )
    assert [(s["asset_id"], s["effective_at"]) for s in r.json()["statuses"]] == [
        (sorted(ids)[offset], "2026-05-01T08:02:00Z")
    ]
