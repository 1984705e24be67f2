"""Rules of readings: the one path of every ingestion door (HTTP JSON, NDJSON, CSV and Kafka).

``check`` (parsing.py: the fields of every item) → ``resolve`` (each item's series in the company,
its unit, duplicates inside the batch) → ``write`` (partitions for its months, one upsert
statement, one event per series written). All or nothing: any offending item refuses the whole batch
with every offending item named; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page

from ..series import repository as series_repository
from . import events, partitions, repository
from .parsing import CheckedItems, Errors, check_items
from .repository import WritePath
from .schemas import QUALITY_OF_RANK, IngestReadingsResponse, Reading, ReadingListResponse

UNKNOWN_SERIES = "unknown series"  # the same answer for another tenant's series: existence is not revealed


@dataclass
class Resolved:
    """Readings of one company with distinct (series, instant) keys, ready to write."""

    received: int = 0
    series_ids: list[int] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)
    qualities: list[int] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)  # series id -> external key


async def resolve(session: AsyncSession, company_id: int, items: CheckedItems, loc: Sequence[str | int]) -> Resolved:
    """Each reading's series (the company's, live), unit and uniqueness in the batch; a duplicate with
    the same value keeps the best quality once, with another value it is refused."""
    ids = {i for i in items.series_ids if i is not None}
    keys = {k for k in items.keys if k is not None}
    rows = await series_repository.resolve_series(session, company_id, ids, keys)
    by_id = {r["id"]: r for r in rows}
    by_key = {r["external_key"]: r for r in rows if r["retired_at"] is None}
    errors = Errors()
    base = list(loc)
    out = Resolved(received=len(items))
    seen: dict[tuple[int, datetime], int] = {}  # key -> position in out
    origin: list[int] = []  # position in out -> item index
    for i in range(len(items)):
        series_id = items.series_ids[i]
        row = by_id.get(series_id) if series_id is not None else by_key.get(items.keys[i])  # type: ignore[arg-type]
        where = "series_id" if series_id is not None else "external_key"
        if row is None:
            errors.add([*base, i, where], UNKNOWN_SERIES, series_id if series_id is not None else items.keys[i])
            continue
        if row["retired_at"] is not None:
            errors.add([*base, i, where], f"series {row['id']} is retired: it accepts no readings", series_id)
            continue
        unit = items.units[i]
        if unit is not None and unit != row["unit"]:
            errors.add([*base, i, "unit"], f"the series' unit is {row['unit']}, not {unit} (no conversion)", unit)
            continue
        sid = row["id"]
        out.keys[sid] = row["external_key"]
        key = (sid, items.times[i])
        at = seen.get(key)
        if at is not None:
            if out.values[at] != items.values[i]:
                errors.add(
                    [*base, i, "value"],
                    f"item {origin[at]} has the same series and time with another value",
                    str(items.values[i]),
                )
            elif items.qualities[i] > out.qualities[at]:
                out.qualities[at] = items.qualities[i]
            continue
        seen[key] = len(out.series_ids)
        origin.append(i)
        out.series_ids.append(sid)
        out.times.append(items.times[i])
        out.values.append(items.values[i])
        out.qualities.append(items.qualities[i])
    errors.raise_if_any(base)
    return out


def merge(batches: Sequence[Resolved]) -> Resolved:
    """Batches of one company in order as one: for a key in several, the result of applying them one
    after the other (the last of the best quality), so one statement does what they would in turn."""
    if len(batches) == 1:
        return batches[0]
    latest: dict[tuple[int, datetime], tuple[Decimal, int]] = {}
    out = Resolved()
    for batch in batches:
        out.received += batch.received
        out.keys.update(batch.keys)
        for sid, t, v, q in zip(batch.series_ids, batch.times, batch.values, batch.qualities, strict=True):
            held = latest.get((sid, t))
            if held is None or q >= held[1]:
                latest[(sid, t)] = (v, q)
    for (sid, t), (v, q) in latest.items():
        out.series_ids.append(sid)
        out.times.append(t)
        out.values.append(v)
        out.qualities.append(q)
    return out


async def write(
    session: AsyncSession, company_id: int, batch: Resolved, *, path: WritePath = "unnest"
) -> IngestReadingsResponse:
    conn = await session.connection()
    await partitions.ensure_months(conn, partitions.months_of(batch.times))  # before any row is written
    written = await repository.upsert(session, batch.series_ids, batch.times, batch.values, batch.qualities, path=path)
    await events.readings_recorded(session, company_id, written, batch.keys)
    count = sum(w.count for w in written)
    return IngestReadingsResponse(received=batch.received, written=count, unchanged=batch.received - count)


async def record_readings(
    session: AsyncSession, company_id: int, items: Any, loc: Sequence[str | int], *, path: WritePath = "unnest"
) -> IngestReadingsResponse:
    """One batch of one company (the HTTP door; ``loc`` is where its items are in the body)."""
    checked = check_items(items, loc)
    return await write(session, company_id, await resolve(session, company_id, checked, loc), path=path)


async def record_many(session: AsyncSession, batches: Sequence[tuple[int, Any]], *, path: WritePath = "unnest") -> None:
    """Several batches (company, readings), e.g. the Kafka door's messages of one fetch, in order: each
    is checked as a batch of its own (a refusal raises for the whole call), then one write per company."""
    per_company: dict[int, list[Resolved]] = {}
    for company_id, items in batches:
        resolved = await resolve(session, company_id, check_items(items, ["readings"]), ["readings"])
        per_company.setdefault(company_id, []).append(resolved)
    for company_id, resolved_batches in per_company.items():
        await write(session, company_id, merge(resolved_batches), path=path)


async def list_readings(
    session: AsyncSession,
    company_id: int,
    series_id: int,
    start: datetime | None,
    end: datetime | None,
    page: Page,
) -> ReadingListResponse:
    series = await series_repository.get_series(session, company_id, series_id)
    if series is None:
        raise NotFound(f"Series {series_id} not found")
    if start is not None and end is not None and end <= start:
        raise ValidationFailed([field_error(["query", "to"], "to must be after from", end.isoformat())])
    rows = await repository.list_readings(session, series_id, start, end, page)
    return ReadingListResponse(
        series_id=series_id,
        unit=series["unit"],
        limit=page.limit,
        offset=page.offset,
        readings=[Reading(time=r["ts"], value=r["value"], quality=QUALITY_OF_RANK[r["quality"]]) for r in rows],
    )
