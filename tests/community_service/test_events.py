"""Every registry change publishes the record's state (community.community.v1 / cluster.v1 / unit.v1),
key = record id, version + 1 per change, read from the broker with a reader of the test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from registry_helpers import BASE

from community_service.registry import events
from gridcommons.community import (
    CLUSTER_CHANGED,
    CLUSTER_TOPIC,
    COMMUNITY_CHANGED,
    COMMUNITY_TOPIC,
    UNIT_CHANGED,
    UNIT_TOPIC,
    ClusterV1,
    CommunityV1,
    UnitV1,
)
from gridcommons.testing.kafka import topic_reader

TOPICS = (COMMUNITY_TOPIC, CLUSTER_TOPIC, UNIT_TOPIC)


async def company_events(company_id: int, count: int, timeout: float = 30.0) -> list[tuple[str, str, dict[str, Any]]]:
    """(topic, key, envelope) of the company's events, in publication order per topic."""
    reader = topic_reader(*TOPICS)
    await reader.start()
    found: list[tuple[str, str, dict[str, Any]]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            for records in batches.values():
                for m in records:
                    envelope = orjson.loads(m.value)
                    if envelope.get("companyid") == str(company_id):
                        found.append((m.topic, (m.key or b"").decode(), envelope))
        await asyncio.sleep(0.5)  # nothing more should come
        for records in (await reader.getmany(timeout_ms=500)).values():
            for m in records:
                envelope = orjson.loads(m.value)
                if envelope.get("companyid") == str(company_id):
                    found.append((m.topic, (m.key or b"").decode(), envelope))
    finally:
        await reader.stop()
    return found


def test_payloads_are_the_kernel_models() -> None:
    assert events.PAYLOADS == {COMMUNITY_CHANGED: CommunityV1, CLUSTER_CHANGED: ClusterV1, UNIT_CHANGED: UnitV1}
    assert events.TOPICS == {
        COMMUNITY_TOPIC: {COMMUNITY_CHANGED},
        CLUSTER_TOPIC: {CLUSTER_CHANGED},
        UNIT_TOPIC: {UNIT_CHANGED},
    }


async def test_every_change_publishes_the_state(
    community_client: httpx.AsyncClient,
    internal_headers: Any,
    company_id: int,
    add_member: Any,
    new_user_id: Callable[[], int],
) -> None:
    h = internal_headers(company_id, "operator")
    user = new_user_id()
    await add_member(company_id, user)
    unit_path = f"{BASE}/oss/clusters/c1/units/E001"
    steps = [
        ("POST", BASE, {"code": "oss", "name": "OSS"}),  # community v1
        ("POST", f"{BASE}/oss/clusters", {"code": "c1", "name": "C1"}),  # cluster v1
        ("POST", f"{BASE}/oss/clusters/c1/units", {"code": "E001", "name": "E001"}),  # unit v1
        ("PATCH", unit_path, {"available_to": "2030-01-01T00:00:00Z"}),  # unit v2
        ("PATCH", unit_path, {"available_to": "2030-01-01T00:00:00Z"}),  # no change: no event
        ("PUT", f"{unit_path}/residents/{user}", None),  # unit v3 with the resident
        ("PUT", f"{unit_path}/residents/{user}", None),  # already linked: no event
        ("PATCH", f"{BASE}/oss", {"name": "OSS 2"}),  # community v2
        ("PATCH", f"{BASE}/oss/clusters/c1", {"name": "C 1"}),  # cluster v2
        ("DELETE", f"{unit_path}/residents/{user}", None),  # unit v4 without
        ("POST", f"{BASE}/oss/retire", None),  # community v3, cluster v3, unit v5 (retired)
        ("POST", f"{BASE}/oss/retire", None),  # nothing
    ]
    for method, path, body in steps:
        r = await community_client.request(method, path, json=body, headers=h)
        assert r.status_code < 300, (method, path, r.text)
    final = {
        "community": (await community_client.get(f"{BASE}/oss", headers=h)).json(),
        "cluster": (await community_client.get(f"{BASE}/oss/clusters/c1", headers=h)).json(),
        "unit": (await community_client.get(unit_path, headers=h)).json(),
    }

    found = await company_events(company_id, count=10)
    by_topic: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for topic, key, envelope in found:
        by_topic.setdefault(topic, []).append((key, envelope))
    assert {t: len(v) for t, v in by_topic.items()} == {COMMUNITY_TOPIC: 3, CLUSTER_TOPIC: 3, UNIT_TOPIC: 5}

    communities = by_topic[COMMUNITY_TOPIC]
    assert [e["type"] for _, e in communities] == [COMMUNITY_CHANGED] * 3
    assert {k for k, _ in communities} == {str(final["community"]["id"])}
    assert [e["subject"] for _, e in communities] == [str(final["community"]["id"])] * 3
    data = [CommunityV1.model_validate(e["data"]) for _, e in communities]
    assert [(d.version, d.name, d.retired_at is None) for d in data] == [
        (1, "OSS", True),
        (2, "OSS 2", True),
        (3, "OSS 2", False),
    ]
    assert communities[-1][1]["data"] == {
        "id": final["community"]["id"],
        "code": "oss",
        "name": "OSS 2",
        "retired_at": final["community"]["retired_at"],
        "version": 3,
    }

    clusters = [ClusterV1.model_validate(e["data"]) for _, e in by_topic[CLUSTER_TOPIC]]
    assert {k for k, _ in by_topic[CLUSTER_TOPIC]} == {str(final["cluster"]["id"])}
    assert [(c.version, c.name, c.community_code, c.community_id) for c in clusters] == [
        (1, "C1", "oss", final["community"]["id"]),
        (2, "C 1", "oss", final["community"]["id"]),
        (3, "C 1", "oss", final["community"]["id"]),
    ]

    units = [UnitV1.model_validate(e["data"]) for _, e in by_topic[UNIT_TOPIC]]
    assert {k for k, _ in by_topic[UNIT_TOPIC]} == {str(final["unit"]["id"])}
    assert [(u.version, u.resident_ids, u.available_to is None, u.retired_at is None) for u in units] == [
        (1, [], True, True),
        (2, [], False, True),
        (3, [user], False, True),
        (4, [], False, True),
        (5, [], False, False),
    ]
    assert by_topic[UNIT_TOPIC][-1][1]["data"] == {
        "id": final["unit"]["id"],
        "code": "E001",
        "name": "E001",
        "retired_at": final["unit"]["retired_at"],
        "version": 5,
        "community_id": final["community"]["id"],
        "community_code": "oss",
        "cluster_id": final["cluster"]["id"],
        "cluster_code": "c1",
        "available_from": None,
        "available_to": "2030-01-01T00:00:00Z",
        "resident_ids": [],
    }
    assert final["unit"]["version"] == 5 and final["cluster"]["version"] == 3


async def test_refused_changes_publish_nothing(
    community_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    h = internal_headers(company_id, "operator")
    assert (await community_client.post(BASE, json={"code": "oss", "name": "OSS"}, headers=h)).status_code == 201
    assert (await community_client.post(BASE, json={"code": "oss", "name": "dup"}, headers=h)).status_code == 409
    assert (await community_client.patch(f"{BASE}/oss", json={"name": ""}, headers=h)).status_code == 422
    r = await community_client.post(f"{BASE}/oss/clusters", json={"code": "bad code", "name": "x"}, headers=h)
    assert r.status_code == 422
    found = await company_events(company_id, count=2, timeout=5)
    assert [(t, e["data"]["version"]) for t, _, e in found] == [(COMMUNITY_TOPIC, 1)]
