"""The HTTP ingestion door (JSON, NDJSON, CSV), reading back, events, bad input and tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
from metering_helpers import all_readings, ingest, new_series, outbox_events, z

T0 = datetime(2026, 3, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
RECORDED = "org.gridcommons.metering.readings.recorded"


async def test_json_batch_is_stored_read_back_and_announced_per_series(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    device = internal_headers(company_id, "device")
    energy = await new_series(metering_client, op)
    power = await new_series(metering_client, op, kind="instantaneous", unit="W")
    readings = [
        {"series_id": energy["id"], "time": z(T0 + k * Q), "value": f"{1000 + k}.25", "quality": "measured"}
        for k in range(8)
    ] + [
        {"external_key": power["external_key"], "time": z(T0 + k * Q), "value": 1500 + k, "unit": "W"} for k in range(4)
    ]
    r = await ingest(metering_client, device, readings)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 12, "written": 12, "unchanged": 0}
    got = await all_readings(metering_client, op, energy["id"])
    assert got == [{"time": z(T0 + k * Q), "value": f"{1000 + k}.25", "quality": "measured"} for k in range(8)]
    got = await all_readings(metering_client, op, power["id"], **{"from": z(T0 + Q), "to": z(T0 + 3 * Q)})
    assert [g["value"] for g in got] == ["1501", "1502"]
    events = await outbox_events(db, company_id, RECORDED)
    assert [(e["topic"], e["key"]) for e in events] == [
        ("metering.readings.v1", str(energy["id"])),
        ("metering.readings.v1", str(power["id"])),
    ]
    assert events[0]["data"] == {
        "series_id": energy["id"],
        "external_key": energy["external_key"],
        "from": z(T0),
        "to": z(T0 + 7 * Q),
        "count": 8,
        "quality_counts": {"measured": 8},
    }
    # a replay changes nothing and announces nothing
    again = await ingest(metering_client, device, readings)
    assert again.json() == {"received": 12, "written": 0, "unchanged": 12}
    assert len(await outbox_events(db, company_id, RECORDED)) == 2


async def test_ndjson_and_csv_doors_share_the_rules(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    ndjson = b"\n".join(orjson.dumps({"series_id": s["id"], "time": z(T0 + k * Q), "value": str(k)}) for k in range(3))
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=ndjson, headers={**op, "content-type": "application/x-ndjson"}
    )
    assert r.status_code == 200 and r.json()["written"] == 3, r.text
    csv = (
        "external_key,time,value,quality,unit\r\n"
        f"{s['external_key']},{z(T0 + 3 * Q)},3.5,estimated,kWh\r\n"
        f"{s['external_key']},{z(T0 + 4 * Q)},4,,\r\n"
    )
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=csv.encode(), headers={**op, "content-type": "text/csv; charset=utf-8"}
    )
    assert r.status_code == 200 and r.json()["written"] == 2, r.text
    got = await all_readings(metering_client, op, s["id"])
    assert [(g["value"], g["quality"]) for g in got] == [
        ("0", "measured"),
        ("1", "measured"),
        ("2", "measured"),
        ("3.5", "estimated"),
        ("4", "measured"),
    ]
    # the same refusals, located by line (NDJSON) or data row (CSV)
    bad_nd = orjson.dumps({"series_id": s["id"], "time": "2026-03-01T00:00:00", "value": "1"}) + b"\n{nope\n"
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=bad_nd, headers={**op, "content-type": "application/x-ndjson"}
    )
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", 1]], r.text
    bad_csv = f"series_id,time,value\n{s['id']},{z(T0)},NaN\n{s['id']},{z(T0)}\n"
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=bad_csv.encode(), headers={**op, "content-type": "text/csv"}
    )
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", 0, "value"], ["body", 1]]
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=b"<xml/>", headers={**op, "content-type": "application/xml"}
    )
    assert r.status_code == 415
    assert len(await all_readings(metering_client, op, s["id"])) == 5


async def test_bad_batches_name_every_item_and_write_nothing(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    retired = await new_series(metering_client, op)
    await metering_client.post(f"/api/metering/series/{retired['id']}/actions/retire", headers=op)
    foreign = await new_series(metering_client, internal_headers(company_id + 100_000, "operator"))
    good = {"series_id": s["id"], "time": z(T0), "value": "1"}
    batch = [
        good,
        {**good, "time": "2026-03-01T00:15:00"},  # 1: no offset
        {**good, "time": z(T0 + Q), "value": "Infinity"},  # 2
        {**good, "time": z(T0 + 2 * Q), "unit": "Wh"},  # 3: not the series' unit
        {**good, "value": "2"},  # 4: same series and time as item 0, other value
        {**good, "series_id": foreign["id"]},  # 5: another tenant's: unknown
        {**good, "series_id": 987654321987},  # 6: unknown
        {**good, "series_id": retired["id"]},  # 7: retired
        {**good, "external_key": "nobody/knows", "series_id": None},  # 8: unknown key
        {**good, "external_key": "x"},  # 9: both addresses
        {**good, "quality": "guessed"},  # 10
        {**good, "time": 1767225600},  # 11: epoch seconds
        {**good, "value": "1e3"},  # 12: not plain notation
        {**good, "extra": 1},  # 13
        "reading",  # 14
        {**good, "time": z(T0 + 3 * Q)},  # valid
    ]
    r = await ingest(metering_client, op, batch)
    assert r.status_code == 422, r.text
    located = [(e["loc"][2], e["loc"][3] if len(e["loc"]) > 3 else None) for e in r.json()["detail"]]
    # the field rules first (all of them), then the lookups; same answer for unknown and foreign
    assert sorted(located, key=lambda x: x[0]) == sorted(
        [
            (1, "time"),
            (2, "value"),
            (9, "series_id"),
            (10, "quality"),
            (11, "time"),
            (12, "value"),
            (13, "extra"),
            (14, None),
        ],
        key=lambda x: x[0],
    )
    fixed = [b for i, b in enumerate(batch) if i not in (1, 2, 9, 10, 11, 12, 13, 14)]
    r = await ingest(metering_client, op, fixed)
    assert r.status_code == 422, r.text
    details = r.json()["detail"]
    assert [e["loc"][2:] for e in details] == [
        [1, "unit"],
        [2, "value"],
        [3, "series_id"],
        [4, "series_id"],
        [5, "series_id"],
        [6, "external_key"],
    ]
    assert details[2]["msg"] == details[3]["msg"] == "unknown series"  # a foreign id is not revealed
    assert "retired" in details[4]["msg"]
    assert "item 0" in details[1]["msg"]
    # NaN / Infinity as JSON numbers are refused before the door
    raw = b'{"readings": [{"series_id": %d, "time": "2026-03-01T00:00:00Z", "value": NaN}]}' % s["id"]
    r = await metering_client.post(
        "/api/ingest/meter-readings", content=raw, headers={**op, "content-type": "application/json"}
    )
    assert r.status_code == 422
    for body in ({"readings": []}, {"readings": "x"}, {}, {"readings": [good], "more": 1}, []):
        r = await metering_client.post("/api/ingest/meter-readings", json=body, headers=op)
        assert r.status_code == 422, (body, r.text)
    assert await all_readings(metering_client, op, s["id"]) == []
    assert await outbox_events(db, company_id, RECORDED) == []


async def test_over_the_limit_is_413_and_the_limit_itself_passes(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "device")
    s = await new_series(metering_client, internal_headers(company_id, "admin"), kind="instantaneous", unit="W")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    full = [
        {"series_id": s["id"], "time": z(start + k * timedelta(minutes=1)), "value": k % 5000} for k in range(100_000)
    ]
    r = await ingest(metering_client, op, [*full, {**full[0], "time": z(start - Q)}])
    assert r.status_code == 413, r.text[:300]
    r = await ingest(metering_client, op, full)
    assert r.status_code == 200 and r.json()["written"] == 100_000, r.text[:300]
    page = await metering_client.get(
        f"/api/metering/series/{s['id']}/readings",
        params={"offset": 99_999, "limit": 5},
        headers=op | internal_headers(company_id, "operator"),
    )
    assert [x["value"] for x in page.json()["readings"]] == [str(99_999 % 5000)]


async def test_paging_and_bad_queries(metering_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    r = await ingest(
        metering_client, op, [{"series_id": s["id"], "time": z(T0 + k * Q), "value": k} for k in range(2500)]
    )
    assert r.status_code == 200
    got = await all_readings(metering_client, op, s["id"])
    assert [g["value"] for g in got] == [str(k) for k in range(2500)]
    page = await metering_client.get(
        f"/api/metering/series/{s['id']}/readings",
        params={"from": z(T0 + 10 * Q), "to": z(T0 + 20 * Q), "limit": 4, "offset": 2},
        headers=op,
    )
    assert page.json()["limit"] == 4 and [x["value"] for x in page.json()["readings"]] == ["12", "13", "14", "15"]
    path = f"/api/metering/series/{s['id']}/readings"
    for params in (
        {"from": z(T0), "to": z(T0)},
        {"from": "2026-03-01T00:00:00"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
    ):
        assert (await metering_client.get(path, params=params, headers=op)).status_code == 422, params
