"""Late and corrected readings recompute the rollups of the days they touch and publish
metering.rollup.revised.v1 (read from the broker) with the changed range; new readings after the
latest one do not."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from metering_helpers import ingest, new_series, z

from gridcommons.testing.kafka import topic_reader

TOPIC = "metering.rollup.revised.v1"
T0 = datetime(2026, 10, 24, 22, tzinfo=UTC)  # Paris midnight of 25 October (a 25-hour day)
Q = timedelta(minutes=15)


async def day_rollup(client: httpx.AsyncClient, headers: dict[str, str], sid: int) -> dict[str, Any]:
    r = await client.get(
        f"/api/metering/series/{sid}/readings",
        params={"resolution": "1d", "from": z(T0), "to": z(T0 + timedelta(hours=25))},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    [day] = r.json()["buckets"]
    return dict(day)


async def test_late_and_corrected_readings_revise_rollups_and_publish(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)  # cumulative kWh, Europe/Paris
    sid = s["id"]

    def reading(k: int, value: float, quality: str = "measured") -> dict[str, Any]:
        return {"series_id": sid, "time": z(T0 + k * Q), "value": value, "quality": quality}

    # the day's register every quarter hour (+1 kWh each), except quarters 40..43 missing
    first = [reading(k, float(k)) for k in range(101) if not 41 <= k <= 43]
    assert (await ingest(metering_client, op, first)).status_code == 200
    day = await day_rollup(metering_client, op, sid)
    assert day["start"] == "2026-10-25T00:00:00+02:00" and day["end"] == "2026-10-26T00:00:00+01:00"
    assert day["value"] == "96" and day["coverage"]["expected"] == 100 and day["coverage"]["received"] == 96
    reader = topic_reader(TOPIC)
    await reader.start()
    try:
        # new readings after the latest one: rollups extended, no revision
        assert (await ingest(metering_client, op, [reading(101, 101.0)])).status_code == 200
        # late data fills the gap; a correction lowers a value in the morning
        assert (await ingest(metering_client, op, [reading(k, float(k)) for k in (41, 42, 43)])).status_code == 200
        assert (await ingest(metering_client, op, [reading(10, 9.5, "corrected")])).status_code == 200
        # a replay changes nothing: no revision
        assert (await ingest(metering_client, op, [reading(10, 9.5, "corrected")])).status_code == 200
        day = await day_rollup(metering_client, op, sid)
        assert day["value"] == "100" and day["coverage"] == {"expected": 100, "received": 100, "fraction": 1.0}
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 40
        while len(seen) < 2:
            assert time.monotonic() < deadline, seen
            for records in (await reader.getmany(timeout_ms=300)).values():
                for rec in records:
                    event = orjson.loads(rec.value)
                    if event["companyid"] == str(company_id):
                        seen.append(event)
        end = time.monotonic() + 2  # nothing more comes (the new reading and the replay publish nothing)
        while time.monotonic() < end:
            for records in (await reader.getmany(timeout_ms=300)).values():
                seen += [e for e in map(orjson.loads, (r.value for r in records)) if e["companyid"] == str(company_id)]
    finally:
        await reader.stop()
    assert [e["type"] for e in seen] == ["org.gridcommons.metering.rollup.revised"] * 2
    assert all(e["subject"] == str(sid) for e in seen)
    gap, correction = (e["data"] for e in seen)
    # the gap: quarters 40 (now closed by reading 41) to 43
    assert (gap["from"], gap["to"]) == (z(T0 + 40 * Q), z(T0 + 44 * Q))
    # the correction of reading 10 changes quarters 9 and 10
    assert (correction["from"], correction["to"]) == (z(T0 + 9 * Q), z(T0 + 11 * Q))
    assert correction["series_id"] == sid and correction["timezone"] == "Europe/Paris"
    assert correction["external_key"] == s["external_key"]


async def test_concurrent_batches_of_one_series_end_with_complete_rollups(
    metering_client: httpx.AsyncClient, internal_headers: Any, company_id: int
) -> None:
    """Each batch recomputes the day from the readings it sees: the second waits for the first to
    commit, so neither's readings are missing from the rollups (and no duplicate day row)."""
    import asyncio

    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    sid = s["id"]
    for attempt in range(3):
        base = datetime(2026, 11, 2 + 2 * attempt, tzinfo=UTC)
        batches = [
            [{"series_id": sid, "time": z(base + k * Q), "value": float(k)} for k in range(97) if k % 2 == parity]
            for parity in (0, 1)
        ]
        answers = await asyncio.gather(*(ingest(metering_client, op, b) for b in batches))
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        r = await metering_client.get(
            f"/api/metering/series/{sid}/readings",
            params={"resolution": "1d", "from": z(base), "to": z(base + timedelta(hours=24)), "tz": "UTC"},
            headers=op,
        )
        [day] = r.json()["buckets"]
        assert day["value"] == "96" and day["coverage"]["received"] == 96, day
