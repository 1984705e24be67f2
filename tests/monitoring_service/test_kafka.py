"""The Kafka doors of monitoring-service: ``ingest.logs.v1`` (batch mode) stores each message once
(redeliveries skipped by event id) and sends poison messages (bad JSON, schema, unknown codes, a date
outside the retention, another company, no credential) to ``ingest.logs.v1.dlq`` with the reason while
the rest is stored; ``metering.unit-data.v1`` keeps apis-ccc alive."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from monitoring_helpers import judge, log, register

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import Stack, ingest_headers
from gridcommons.timeutil import utcnow

TOPIC = "ingest.logs.v1"


def envelope(company_id: int, records: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        source="/devices/apis-log-1",
        type="org.gridcommons.ingest.logs",
        companyid=str(company_id),
        data={"logs": records},
    )


async def wait_items(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], want: int
) -> list[Any]:
    deadline = time.monotonic() + 30
    while True:
        got = (await client.get("/api/monitoring/logs", params=params, headers=headers)).json()["items"]
        if len(got) >= want or time.monotonic() > deadline:
            assert len(got) == want, got
            return list(got)
        await asyncio.sleep(0.1)


async def test_kafka_logs_redelivery_and_dead_letters(
    monitoring_app: FastAPI,
    monitoring_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    bearer_token: Any,
) -> None:
    reg = await register(monitoring_app, company_id)
    op = internal_headers(company_id, "operator")
    device = bearer_token(company_id, "device")
    t0 = utcnow() - timedelta(minutes=1)
    first = envelope(company_id, [log("apis-main", "INFO", "uri : /a", unit="E001", at=t0)])
    plain = {"company_id": company_id, "logs": [log("apis-ccc", "INFO", "reporting unit data", at=t0)]}
    tag = uuid.uuid4().hex[:8]
    poison = {
        "json": b"{not json",
        "schema": envelope(company_id, [log("apis-main", "LOUD", "x")]).to_bytes(),
        "unknown-codes": envelope(
            company_id, [log("apis-main", "INFO", "ok"), log("apis-main", "INFO", "x", cluster="elsewhere")]
        ).to_bytes(),
        "too-old": envelope(company_id, [log("apis-main", "INFO", "x", at=utcnow() - timedelta(days=366))]).to_bytes(),
        "other-company": orjson.dumps({"company_id": company_id + 1, "logs": [log("apis-main", "INFO", "x")]}),
    }
    uncredentialed = {"no-credential": envelope(company_id, [log("apis-main", "INFO", "x")]).to_bytes()}
    dlq = topic_reader(f"{TOPIC}.dlq")
    await dlq.start()
    try:
        await produce(
            TOPIC,
            [
                (b"c", first.to_bytes(), first.id),
                (b"c", first.to_bytes(), first.id),  # redelivered: same event id
                *[(f"{tag}-{k}".encode(), v, None) for k, v in poison.items()],
                *[(f"{tag}-{k}".encode(), v, None, []) for k, v in uncredentialed.items()],
                (b"c", orjson.dumps(plain), None),
            ],
            client_id="monitoring-kafka-tests",
            headers=ingest_headers(device),
        )
        got = await wait_items(monitoring_client, op, reg.cc(), 2)
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
    await asyncio.sleep(0.5)  # nothing more arrives: the redelivery was skipped
    got = (await monitoring_client.get("/api/monitoring/logs", params=reg.cc(), headers=op)).json()["items"]
    assert sorted(i["message"] for i in got) == ["reporting unit data", "uri : /a"]
    for k, v in poison.items():
        record = dead[f"{tag}-{k}".encode()]
        assert record.value == v, k
        assert dict(record.headers)["dlq_error"].startswith((b"PoisonMessage", b"ValidationFailed")), k
        assert dict(record.headers)["dlq_consumer"] == b"monitoring-service.logs"
    unknown = dict(dead[f"{tag}-unknown-codes".encode()].headers)["dlq_error"].decode()
    assert unknown == "ValidationFailed: logs.1.clusterId: unknown communityId/clusterId oss_community/elsewhere"
    assert b"older than the log retention" in dict(dead[f"{tag}-too-old".encode()].headers)["dlq_error"]
    assert b"credential missing" in dict(dead[f"{tag}-no-credential".encode()].headers)["dlq_error"]


async def test_unit_data_keeps_apis_ccc_alive(monitoring_app: FastAPI, company_id: int, stack: Stack) -> None:
    reg = await register(monitoring_app, company_id)
    assert await judge(monitoring_app, reg, "apis_ccc_alive") == (1, 0)
    event = CloudEvent(
        source="/services/metering-service",
        type="org.gridcommons.metering.unit-data.recorded",
        subject="1",
        companyid=str(company_id),
        data={
            "unit_id": 1,
            "community_code": reg.community,
            "cluster_code": reg.cluster,
            "unit_code": "E001",
            "dataset_id": 1,
            "time": (utcnow() - timedelta(seconds=10)).isoformat(),
            "rsoc": 50.0,
            "operation_mode": None,
            "remaining_capacity_wh": None,
            "is_grid_master": None,
            "document": {},
        },
    )
    await produce("metering.unit-data.v1", [(b"1", event.to_bytes(), event.id)], client_id="monitoring-unit-data-tests")
    deadline = time.monotonic() + 30
    while (result := await judge(monitoring_app, reg, "apis_ccc_alive")) == (0, 0):
        assert time.monotonic() < deadline, "the unit data never reached the job"
        await asyncio.sleep(0.2)
    assert result == (0, 1)
