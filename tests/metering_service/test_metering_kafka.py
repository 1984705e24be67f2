"""The Kafka door ingest.meter-readings.v1: batch mode, redeliveries, corrections across messages,
poison messages to the DLQ alone; the same rules and events as the HTTP door."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from metering_helpers import all_readings, new_series, outbox_events, z

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import ingest_headers

TOPIC = "ingest.meter-readings.v1"
T0 = datetime(2026, 5, 1, tzinfo=UTC)
Q = timedelta(minutes=15)


def envelope(company_id: int, readings: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        source="/devices/gw-7",
        type="org.gridcommons.ingest.meter-readings",
        companyid=str(company_id),
        data={"readings": readings},
    )


async def wait_readings(client: httpx.AsyncClient, headers: dict[str, str], series_id: int, count: int) -> list[Any]:
    deadline = time.monotonic() + 40
    while True:
        got = await all_readings(client, headers, series_id)
        if len(got) >= count or time.monotonic() > deadline:
            assert len(got) == count, got
            return got
        await asyncio.sleep(0.2)


async def test_kafka_batches_redeliveries_corrections_and_dlq(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, bearer_token, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    device = bearer_token(company_id, "device")
    s = await new_series(metering_client, op)
    r = lambda k, v, q="measured": {"series_id": s["id"], "time": z(T0 + k * Q), "value": v, "quality": q}  # noqa: E731
    first = envelope(company_id, [r(0, "1"), r(1, "2"), r(2, "3", "estimated")])
    correction = envelope(company_id, [r(2, "3.5", "measured"), r(1, "9", "provisional")])  # 2 replaced, 1 kept
    plain = {"readings": [{"external_key": s["external_key"], "time": z(T0 + 3 * Q), "value": 4}]}
    tag = uuid.uuid4().hex[:8]
    poison = {
        "json": b"{not json",
        "offsetless": envelope(company_id, [r(5, "1") | {"time": "2026-05-01T05:00:00"}]).to_bytes(),
        "duplicate": envelope(company_id, [r(6, "1"), r(6, "2")]).to_bytes(),
        "unit": envelope(company_id, [r(7, "1") | {"unit": "W"}]).to_bytes(),
        "unknown": envelope(company_id, [r(8, "1"), {**r(8, "1"), "series_id": 98765432123}]).to_bytes(),
        "other-company": orjson.dumps({"company_id": company_id + 1, "readings": [r(9, "1")]}),
    }
    dlq = topic_reader(f"{TOPIC}.dlq")
    await dlq.start()
    try:
        await produce(
            TOPIC,
            client_id="metering-kafka-tests",
            messages=[
                (b"gw-7", first.to_bytes(), first.id),
                (b"gw-7", first.to_bytes(), first.id),  # redelivered: same event id
                *[(f"{tag}-{k}".encode(), v, None) for k, v in poison.items()],
                (b"gw-7", correction.to_bytes(), correction.id),
                (b"gw-7", orjson.dumps(plain), None),
            ],
            headers=ingest_headers(device),
        )
        got = await wait_readings(metering_client, op, s["id"], 4)
        keys = {f"{tag}-{k}".encode() for k in poison}
        dead: dict[bytes, Any] = {}
        deadline = time.monotonic() + 40
        while not keys <= dead.keys():
            assert time.monotonic() < deadline, sorted(dead)
            for records in (await dlq.getmany(timeout_ms=300)).values():
                dead.update({rec.key: rec for rec in records if rec.key in keys})
    finally:
        await dlq.stop()
    await asyncio.sleep(1.0)  # the correction may land in a later batch than the first readings
    got = await all_readings(metering_client, op, s["id"])
    assert [(g["value"], g["quality"]) for g in got] == [
        ("1", "measured"),
        ("2", "measured"),
        ("3.5", "measured"),
        ("4", "measured"),
    ]
    for k, v in poison.items():
        record = dead[f"{tag}-{k}".encode()]
        assert record.value == v
        assert dict(record.headers)["dlq_error"].startswith((b"PoisonMessage", b"ValidationFailed")), k
    assert b"unknown series" in dict(dead[f"{tag}-unknown".encode()].headers)["dlq_error"]
    assert b"no offset" in dict(dead[f"{tag}-offsetless".encode()].headers)["dlq_error"]
    # nothing of the poison messages was written (their series and instants hold nothing)
    assert all(g["time"] < z(T0 + 5 * Q) for g in got)
    events = await outbox_events(db, company_id, "org.gridcommons.metering.readings.recorded")
    assert sum(e["data"]["count"] for e in events) in (4, 5)  # 3 + 1 + (the correction: its own batch or merged)
    assert {e["key"] for e in events} == {str(s["id"])}
