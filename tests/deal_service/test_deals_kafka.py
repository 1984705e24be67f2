"""The Kafka door of deals (``ingest.deals.v1``, batch mode): reports out of order and redelivered are
applied once with the newest winning; a poison message, a refused credential and unknown community
codes go to ``ingest.deals.v1.dlq`` with the reason while the rest of their batch is applied."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import orjson
from deal_helpers import outbox_events, register, report
from fastapi import FastAPI

from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce, topic_reader
from gridcommons.testing.plugin import Stack, ingest_headers

TOPIC = "ingest.deals.v1"


def envelope(company_id: int, deals: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        source="/devices/ccc-1", type="org.gridcommons.ingest.deals", companyid=str(company_id), data={"deals": deals}
    )


async def wait_list(client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], want: int) -> list[Any]:
    deadline = time.monotonic() + 30
    while True:
        got = (await client.get("/api/staff/deal/list", params=params, headers=headers)).json()
        if len(got) >= want or time.monotonic() > deadline:
            assert len(got) == want, got
            return list(got)
        await asyncio.sleep(0.1)


async def test_kafka_reports_redelivery_and_dead_letters(
    deal_app: FastAPI,
    deal_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    stack: Stack,
    bearer_token: Any,
) -> None:
    reg = await register(deal_app, company_id)
    op = internal_headers(company_id, "operator")
    device = bearer_token(company_id, "device")
    t = int(time.time())
    newest = report("k-1", cumulateAmountWh=20.0, startDateTime="2020-01-01T06:09:10Z", reportTime=t)
    older = report("k-1", cumulateAmountWh=5.0, startDateTime="2020-01-01T06:09:10Z", reportTime=t - 30)
    other = report("k-2", createDateTime="2020-01-01T07:00:00Z", reportTime=t)
    first = envelope(company_id, [newest])
    tag = uuid.uuid4().hex[:8]
    poison = {
        "json": b"{not json",
        "schema": envelope(company_id, [report("k-x", createDateTime="soon")]).to_bytes(),
        "unknown-codes": envelope(
            company_id, [report("k-y", reportTime=t), report("k-z", communityId="elsewhere")]
        ).to_bytes(),
        "other-company": orjson.dumps({"company_id": company_id + 1, "deals": [report("k-w")]}),
    }
    uncredentialed = {"no-credential": envelope(company_id, [report("k-v")]).to_bytes()}
    dlq = topic_reader(f"{TOPIC}.dlq")
    await dlq.start()
    try:
        await produce(
            TOPIC,
            [
                (b"k-1", first.to_bytes(), first.id),
                (b"k-1", first.to_bytes(), first.id),  # redelivered: same event id
                (b"k-1", envelope(company_id, [older]).to_bytes(), None),  # late: an older report
                *[(f"{tag}-{k}".encode(), v, None) for k, v in poison.items()],
                *[(f"{tag}-{k}".encode(), v, None, []) for k, v in uncredentialed.items()],
                (b"k-2", orjson.dumps({"company_id": company_id, "deals": [other]}), None),
            ],
            client_id="deal-kafka-tests",
            headers=ingest_headers(device),
        )
        got = await wait_list(deal_client, op, reg.cc(), 2)
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
    assert got == [newest, other]
    for k, v in poison.items():
        record = dead[f"{tag}-{k}".encode()]
        assert record.value == v, k
        assert dict(record.headers)["dlq_error"].startswith((b"PoisonMessage", b"ValidationFailed")), k
        assert dict(record.headers)["dlq_consumer"] == b"deal-service.deals"
    unknown = dict(dead[f"{tag}-unknown-codes".encode()].headers)["dlq_error"].decode()
    assert unknown == "ValidationFailed: deals.1.clusterId: unknown communityId/clusterId elsewhere/oss_cluster"
    assert b"credential missing" in dict(dead[f"{tag}-no-credential".encode()].headers)["dlq_error"]
    # the message with unknown codes wrote nothing (k-y neither); one event per deal
    events = await outbox_events(stack, company_id)
    assert sorted(e["key"] for e in events) == ["k-1", "k-2"]
