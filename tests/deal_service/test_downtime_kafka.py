"""The Kafka path of downtime: metering-service's unit-data events (built with its own payload model) on
the real broker → deal-service's consumer → downtime rows → deals.downtime.v1 on the broker; an event
deal-service cannot read goes to metering.unit-data.v1.dlq, an event of another type is ignored."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from downtime_helpers import at, register_units, replay_events
from fastapi import FastAPI

from deal_service.downtime import events as downtime_events
from deal_service.downtime.workers import GROUP, TOPIC
from gridcommons.events import CloudEvent
from gridcommons.testing.kafka import produce, topic_reader
from metering_service.unit_data.events import RECORDED, UnitDataRecordedV1


def unit_data_event(
    company_id: int, unit_id: int, code: str, cluster: str, seconds: float, mode: str | None
) -> CloudEvent:
    document = {
        "oesunit": {"communityId": "oss_community", "clusterId": cluster, "id": code},
        "time": at(seconds).isoformat(),
    }
    data = UnitDataRecordedV1(
        unit_id=unit_id,
        community_code="oss_community",
        cluster_code=cluster,
        unit_code=code,
        dataset_id=int(at(seconds).timestamp() * 1000),
        time=at(seconds),
        rsoc=50.0,
        operation_mode=mode,
        remaining_capacity_wh=1000.0,
        is_grid_master=False,
        document=document,
    )
    return CloudEvent(
        source="/services/metering-service",
        type=RECORDED,
        subject=str(unit_id),
        companyid=str(company_id),
        data=data.model_dump(mode="json"),
    )


async def test_unit_data_events_to_downtime_events(
    deal_app: FastAPI, deal_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    cl = await register_units(deal_app, company_id, ["K1"])
    unit_id = cl.units["K1"]
    key = str(unit_id).encode()
    sent = [
        unit_data_event(company_id, unit_id, "K1", cl.cluster, t, m)
        for t, m in [(0, "autonomous"), (30, "heteronomous"), (60, "autonomous"), (400, "autonomous")]
    ]
    tag = uuid.uuid4().hex[:8]
    other_type = CloudEvent(
        source="/x", type="org.gridcommons.metering.unit-data.other", companyid=str(company_id), data={}
    )
    broken = CloudEvent(source="/x", type=RECORDED, companyid=str(company_id), data={"unit_id": "nope"})
    out = topic_reader(downtime_events.TOPIC)
    dlq = topic_reader(f"{TOPIC}.dlq")
    await out.start()
    await dlq.start()
    try:
        await produce(
            TOPIC,
            [
                *[(key, e.to_bytes(), e.id) for e in sent[:2]],
                (key, sent[0].to_bytes(), sent[0].id),  # redelivered
                (f"{tag}-other".encode(), other_type.to_bytes(), other_type.id),
                (f"{tag}-broken".encode(), broken.to_bytes(), broken.id),
                (f"{tag}-json".encode(), b"{not json", None),
                *[(key, e.to_bytes(), e.id) for e in sent[2:]],
            ],
            client_id="downtime-kafka-tests",
        )
        op = internal_headers(company_id, "operator")
        want = [(at(30), at(60)), (at(60), at(400))]
        deadline = time.monotonic() + 30
        while True:
            got = (await deal_client.get("/api/staff/downtime/list", params=cl.cc(), headers=op)).json()
            if len(got) == len(want) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert [(d["downDateTime"], d["recoveryDateTime"]) for d in got] == [
            (a.isoformat().replace("+00:00", "Z"), b.isoformat().replace("+00:00", "Z")) for a, b in want
        ]
        published: list[dict[str, Any]] = []
        dead: dict[bytes, Any] = {}
        deadline = time.monotonic() + 30
        while True:
            for records in (await out.getmany(timeout_ms=300)).values():
                published += [
                    CloudEvent.model_validate_json(r.value).model_dump(mode="json") for r in records if r.key == key
                ]
            for records in (await dlq.getmany(timeout_ms=100)).values():
                dead.update({r.key: r for r in records if r.key and r.key.startswith(tag.encode())})
            held = replay_events(published).get(unit_id, {})
            if (sorted(held.items()) == want and len(dead) == 2) or time.monotonic() > deadline:
                break
    finally:
        await out.stop()
        await dlq.stop()
    assert sorted(held.items()) == want
    assert {e["type"] for e in published} <= {downtime_events.OPENED, downtime_events.CLOSED, downtime_events.REVISED}
    assert sorted(dead) == [f"{tag}-broken".encode(), f"{tag}-json".encode()]
    for record in dead.values():
        headers = dict(record.headers)
        assert headers["dlq_consumer"] == GROUP.encode()
        assert headers["dlq_error"].startswith(b"PoisonMessage")
