"""The Kafka door ingest.unit-data.v1: batch mode, redeliveries, poison messages to the DLQ alone with
the reason; the same rules and events as the HTTP door."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import orjson
from metering_helpers import outbox_events
from unit_data_helpers import CLUSTER, COMMUNITY, document, register

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import ingest_headers

TOPIC = "ingest.unit-data.v1"
WHERE = {"communityId": COMMUNITY, "clusterId": CLUSTER}


def envelope(company_id: int, docs: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        source="/apis-ccc/oss_cluster",
        type="org.gridcommons.ingest.unit-data",
        companyid=str(company_id),
        data={"unit_data": docs},
    )


async def test_kafka_unit_data_batches_redeliveries_and_dlq(
    metering_app: Any,
    metering_client: httpx.AsyncClient,
    internal_headers,
    company_id: int,
    bearer_token,
    db: asyncpg.Connection,
) -> None:
    await register(metering_app, company_id, ["E001", "E002"], retired=["E002"])
    device = bearer_token(company_id, "device")
    first = envelope(company_id, [document("E001", 10)])
    plain = {"unit_data": [document("E001", 20), document("E001", 10)]}  # 10 again: ignored
    tag = uuid.uuid4().hex[:8]
    poison = {
        "json": b"{not json",
        "unknown": envelope(company_id, [document("E001", 30), document("E404", 30)]).to_bytes(),
        "retired": envelope(company_id, [document("E002", 30)]).to_bytes(),
        "schema": envelope(company_id, [document("E001", 30) | {"datasetId": "x"}]).to_bytes(),
        "other-company": orjson.dumps({"company_id": company_id + 1, **plain}),
    }
    dlq = topic_reader(f"{TOPIC}.dlq")
    await dlq.start()
    try:
        await produce(
            TOPIC,
            client_id="metering-unit-data-tests",
            messages=[
                (b"oss_cluster", first.to_bytes(), first.id),
                (b"oss_cluster", first.to_bytes(), first.id),  # redelivered: same event id
                *[(f"{tag}-{k}".encode(), v, None) for k, v in poison.items()],
                (b"oss_cluster", orjson.dumps(plain), None),
            ],
            headers=ingest_headers(device),
        )
        keys = {f"{tag}-{k}".encode() for k in poison}
        dead: dict[bytes, Any] = {}
        deadline = time.monotonic() + 40
        while not keys <= dead.keys():
            assert time.monotonic() < deadline, sorted(dead)
            for records in (await dlq.getmany(timeout_ms=300)).values():
                dead.update({rec.key: rec for rec in records if rec.key in keys})
    finally:
        await dlq.stop()
    op = internal_headers(company_id, "operator")
    deadline = time.monotonic() + 40
    while True:
        latest = (await metering_client.get("/api/staff/unitData/latestSet", params=WHERE, headers=op)).json()
        if latest.get("E001", {}).get("datasetId") == 20 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert latest == {"E001": document("E001", 20)}
    for k, v in poison.items():
        record = dead[f"{tag}-{k}".encode()]
        assert record.value == v
        assert dict(record.headers)["dlq_error"].startswith((b"PoisonMessage", b"ValidationFailed")), k
    assert b"unit_data.1.oesunit: unknown unit" in dict(dead[f"{tag}-unknown".encode()].headers)["dlq_error"]
    assert b"retired" in dict(dead[f"{tag}-retired".encode()].headers)["dlq_error"]
    stored = await db.fetch(
        "SELECT unit_code, dataset_id FROM metering.unit_data WHERE company_id = $1 ORDER BY dataset_id", company_id
    )
    assert [(r["unit_code"], r["dataset_id"]) for r in stored] == [("E001", 10), ("E001", 20)]  # no poison part
    events = await outbox_events(db, company_id, "org.gridcommons.metering.unit-data.recorded")
    assert sorted(e["data"]["dataset_id"] for e in events) == [10, 20]
