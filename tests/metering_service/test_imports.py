"""CSV imports into a series: streamed in chunks, bad rows listed with line and reason, progress
visible while the file arrives, replays, refusals, a file that stops midway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_helpers import new_series, z

from metering_service.imports import service as import_service

T0 = datetime(2025, 3, 30, tzinfo=UTC)  # a DST change day in Europe: instants are what counts
Q = timedelta(minutes=15)
CSV = {"content-type": "text/csv"}


def lines_of(n: int, start: int = 0) -> list[str]:
    return [f"{z(T0 + (start + k) * Q)},{1000 + start + k}.5,measured" for k in range(n)]


async def pieces(text: str, size: int = 7_001) -> AsyncIterator[bytes]:
    data = text.encode()
    for at in range(0, len(data), size):  # chunk boundaries fall inside lines
        yield data[at : at + size]


async def count(db: asyncpg.Connection, series_id: int) -> int:
    return int(await db.fetchval("SELECT count(*) FROM metering.readings WHERE series_id = $1", series_id))


async def test_import_with_bad_rows_and_replay(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    rows = lines_of(25_000)
    rows[10] = "2025-03-30T02:30:00,1,measured"  # no offset
    rows[20_000] = f"{z(T0)},NaN,measured"
    rows[20_001] = "a,b"  # two cells
    rows[5] = f"{z(T0 + 4 * Q)},999,measured"  # the time of row 4 with another value (same chunk)
    rows.insert(100, "")  # blank lines are skipped
    text = "\ufefftime,value,quality\r\n" + "\r\n".join(rows) + "\r\n"
    url = f"/api/metering/series/{s['id']}/import"
    r = await metering_client.post(url, content=pieces(text), headers={**op, **CSV})
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/metering/series/{s['id']}/imports/{body['id']}"
    assert (body["status"], body["rows_read"], body["rows_rejected"]) == ("completed", 25_000, 4)
    assert (body["rows_written"], body["rows_unchanged"]) == (24_996, 0)
    assert [(x["line"], x["field"]) for x in body["rejections"]] == [
        (7, "value"),  # header is line 1: row 5 is line 7
        (12, "time"),
        (20_003, "value"),
        (20_004, None),
    ]
    assert body["rejections"][0]["reason"] == "line 6 has the same series and time with another value"
    assert await count(db, s["id"]) == 24_996
    got = await metering_client.get(f"/api/metering/series/{s['id']}/imports/{body['id']}", headers=op)
    assert got.json() == body
    # The same file again: nothing changes.
    again = (await metering_client.post(url, content=text.encode(), headers={**op, **CSV})).json()
    assert (again["rows_written"], again["rows_unchanged"], again["rows_rejected"]) == (0, 24_996, 4)
    listed = (await metering_client.get(f"/api/metering/series/{s['id']}/imports", headers=op)).json()
    assert [i["id"] for i in listed["imports"]] == [again["id"], body["id"]]


async def test_progress_while_the_file_arrives(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield ("time,value\n" + "\n".join(lines_of(12_000)) + "\n").replace(",measured", "").encode()
        await release.wait()
        yield ("\n".join(lines_of(3_000, 12_000)) + "\n").replace(",measured", "").encode()

    url = f"/api/metering/series/{s['id']}/import"
    upload = asyncio.create_task(metering_client.post(url, content=slow(), headers={**op, **CSV}))
    running: dict[str, Any] = {}
    for _ in range(200):
        listed = (await metering_client.get(f"/api/metering/series/{s['id']}/imports", headers=op)).json()
        if listed["imports"] and listed["imports"][0]["rows_written"]:
            running = listed["imports"][0]
            break
        await asyncio.sleep(0.05)
    assert (running["status"], running["rows_read"], running["rows_written"]) == ("running", 10_000, 10_000)
    assert running["finished_at"] is None
    release.set()
    done = (await upload).json()
    assert (done["status"], done["rows_read"], done["rows_written"]) == ("completed", 15_000, 15_000)


async def test_refusals_and_a_file_that_stops(
    metering_client: httpx.AsyncClient, internal_headers, company_id: int, db: asyncpg.Connection
) -> None:
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op)
    url = f"/api/metering/series/{s['id']}/import"
    c = metering_client
    for text in ("", "\n\n", "time,quality\n", "series_id,time,value\n", "time,value,value\n"):
        r = await c.post(url, content=text.encode(), headers={**op, **CSV})
        assert r.status_code == 422, (text, r.text)
    assert (await c.post(url, content=b"time,value\n", headers={**op, "content-type": "text/plain"})).status_code == 415
    other = internal_headers(company_id + 900_000, "operator")
    assert (await c.post(url, content=b"time,value\n", headers={**other, **CSV})).status_code == 404
    assert (await c.get(f"/api/metering/series/{s['id']}/imports", headers=other)).status_code == 404
    assert (await c.get(f"/api/metering/series/{s['id']}/imports/1", headers=other)).status_code == 404
    member = internal_headers(company_id, "member")
    assert (await c.post(url, content=b"time,value\n", headers={**member, **CSV})).status_code == 403
    listed = (await c.get(f"/api/metering/series/{s['id']}/imports", headers=op)).json()
    assert listed == {"imports": []}  # nothing was created by a refused file

    # A line too long after one full chunk: the import fails, the first chunk stays written.
    text = "time,value\n" + "\n".join(lines_of(10_001)).replace(",measured", "") + "\n" + "x" * 70_000 + "\n"
    r = await c.post(url, content=pieces(text, 16_384), headers={**op, **CSV})
    assert r.status_code == 422, r.text
    failed = (await c.get(f"/api/metering/series/{s['id']}/imports", headers=op)).json()["imports"][0]
    assert (failed["status"], failed["rows_written"]) == ("failed", 10_000)
    assert failed["error"].startswith("a line is at most 65,536 bytes") and failed["finished_at"] is not None
    assert await count(db, s["id"]) == 10_000

    retired = await new_series(c, op)
    await c.post(f"/api/metering/series/{retired['id']}/actions/retire", headers=op)
    r = await c.post(f"/api/metering/series/{retired['id']}/import", content=b"time,value\n", headers={**op, **CSV})
    assert r.status_code == 422 and "retired" in r.json()["detail"][0]["msg"]


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 2), st.sampled_from(["ok", "ok", "ok", "no offset", "NaN"])),
        min_size=1,
        max_size=14,
    )
)
async def test_import_matches_a_reference(
    metering_client: httpx.AsyncClient,
    internal_headers,
    company_id: int,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[tuple[int, int, str]],
) -> None:
    """Random rows (instant slot, value, kind) in chunks of 3: what is stored, written, unchanged and
    rejected equals a straightforward replay of the chunks one after the other."""
    monkeypatch.setattr(import_service, "CHUNK_ROWS", 3)
    op = internal_headers(company_id, "operator")
    s = await new_series(metering_client, op, kind="instantaneous", unit="kW")
    lines = []
    for slot, value, kind in rows:
        t = z(T0 + slot * Q)
        lines.append({"ok": f"{t},{value}", "no offset": f"{t[:-1]},{value}", "NaN": f"{t},NaN"}[kind])
    r = await metering_client.post(
        f"/api/metering/series/{s['id']}/import",
        content=("time,value\n" + "\n".join(lines)).encode(),
        headers={**op, **CSV},
    )
    assert r.status_code == 201, r.text
    got = r.json()
    # the reference
    stored: dict[int, int] = {}
    written = unchanged = 0
    rejected: list[int] = []
    for start in range(0, len(rows), 3):
        first: dict[int, int] = {}
        valid = 0
        for k, (slot, value, kind) in enumerate(rows[start : start + 3], start=start):
            if kind != "ok" or first.get(slot, value) != value:
                rejected.append(k + 2)  # the file's line
                continue
            valid += 1
            first.setdefault(slot, value)
        changed = sum(1 for slot, value in first.items() if stored.get(slot) != value)
        written += changed
        unchanged += valid - changed
        stored.update(first)
    assert (got["rows_read"], got["rows_written"], got["rows_unchanged"]) == (len(rows), written, unchanged)
    assert [x["line"] for x in got["rejections"]] == rejected and got["rows_rejected"] == len(rejected)
    in_db = await db.fetch("SELECT ts, value FROM metering.readings WHERE series_id = $1 ORDER BY ts", s["id"])
    assert [(r["ts"], int(r["value"])) for r in in_db] == [(T0 + slot * Q, v) for slot, v in sorted(stored.items())]
