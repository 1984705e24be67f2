"""Rules of readings: the one path of every ingestion door (HTTP JSON, NDJSON, CSV and Kafka).

``check`` (parsing.py: the fields of every item) → ``resolve`` (each item's series in the company,
its unit, duplicates inside the batch) → ``write`` (partitions for its months, one upsert
statement, one event per series written). All or nothing: any offending item refuses the whole batch
with every offending item named; nothing is written.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page

from ..rollups import service as rollups
from ..series import repository as series_repository
from . import events, partitions, repository
from .parsing import CheckedItems, Errors, check_items
from .repository import WritePlan
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
    # the times as sent where PostgreSQL reads them alike (``CheckedItems.time_texts``); None: format them
    time_texts: list[str | None] | None = None


async def resolve(session: AsyncSession, company_id: int, items: CheckedItems, loc: Sequence[str | int]) -> Resolved:
    """Each reading's series (the company's, live), unit and uniqueness in the batch; a duplicate with
    the same value keeps the best quality once, with another value it is refused. The readings come
    out sorted by (series, time)."""
    rows = await series_repository.resolve_series(
        session,
        company_id,
        {i for i in items.series_ids if i is not None},
        {k for k in items.keys if k is not None},
    )
    # address (a series id, or an external key) -> the series id, or why the address is refused
    target: dict[int | str, int | str] = {}
    for r in rows:
        target[r["id"]] = r["id"] if r["retired_at"] is None else f"series {r['id']} is retired: it accepts no readings"
        if r["retired_at"] is None:
            target[r["external_key"]] = r["id"]
    unit_of = {r["id"]: r["unit"] for r in rows}
    external_keys = {r["id"]: r["external_key"] for r in rows}
    errors = Errors()
    base = list(loc)
    sids: list[int] = []
    for i, (series_id, key, unit) in enumerate(zip(items.series_ids, items.keys, items.units, strict=True)):
        address: int | str = series_id if series_id is not None else key  # type: ignore[assignment]
        sid = target.get(address, UNKNOWN_SERIES)
        if type(sid) is not int:
            errors.add([*base, i, "series_id" if series_id is not None else "external_key"], str(sid), address)
            sids.append(0)
        elif unit is not None and unit != unit_of[sid]:
            errors.add([*base, i, "unit"], f"the series' unit is {unit_of[sid]}, not {unit} (no conversion)", unit)
            sids.append(0)
        else:
            sids.append(sid)
    out = Resolved(received=len(items), keys={sid: external_keys[sid] for sid in set(sids) if sid})
    order = list(zip(sids, items.times, strict=True))
    if not errors.items and all(map(operator.lt, order, order[1:])):  # in order, no key twice: the usual batch
        out.series_ids, out.times, out.values, out.qualities = sids, items.times, items.values, items.qualities
        out.time_texts = items.time_texts
        return out
    return _deduplicated(out, order, items, base, errors)


def _deduplicated(
    out: Resolved, order: list[tuple[int, datetime]], items: CheckedItems, base: list[str | int], errors: Errors
) -> Resolved:
    """The batch's readings once per (series, time), sorted: concurrent batches over the same keys
    then lock them in the same order and cannot deadlock each other. Raises every error found
    (``errors`` holds those of the series lookup already)."""
    first: dict[tuple[int, datetime], int] = {}  # key -> index of its first item
    best: dict[tuple[int, datetime], int] = {}  # key -> best quality among its (equal) values
    for i, key in enumerate(order):
        if not key[0]:
            continue  # refused already
        at = first.get(key)
        if at is None:
            first[key] = i
            best[key] = items.qualities[i]
        elif items.values[at] != items.values[i]:
            errors.add(
                [*base, i, "value"],
                f"item {at} has the same series and time with another value",
                str(items.values[i]),
            )
        elif items.qualities[i] > best[key]:
            best[key] = items.qualities[i]
    errors.raise_if_any(base)
    for key in sorted(first):
        out.series_ids.append(key[0])
        out.times.append(key[1])
        out.values.append(items.values[first[key]])
        out.qualities.append(best[key])
    return out


def merge(batches: Sequence[Resolved]) -> Resolved:
    """Batches of one company in order as one: for a key in several, the result of applying them one
    after the other (the last of the best quality), so one statement does what they would in turn."""
    if len(batches) == 1:
        return batches[0]
    if all(_before(a, b) for a, b in itertools.pairwise(batches)):
        return _concatenated(batches)
    latest: dict[tuple[int, datetime], tuple[Decimal, int]] = {}
    out = Resolved()
    for batch in batches:
        out.received += batch.received
        out.keys.update(batch.keys)
        for sid, t, v, q in zip(batch.series_ids, batch.times, batch.values, batch.qualities, strict=True):
            held = latest.get((sid, t))
            if held is None or q >= held[1]:
                latest[(sid, t)] = (v, q)
    for (sid, t), (v, q) in sorted(latest.items()):
        out.series_ids.append(sid)
        out.times.append(t)
        out.values.append(v)
        out.qualities.append(q)
    return out


def _before(a: Resolved, b: Resolved) -> bool:
    """Every key of ``a`` sorts before every key of ``b`` (each batch is sorted by (series, time))."""
    return not a.series_ids or not b.series_ids or (a.series_ids[-1], a.times[-1]) < (b.series_ids[0], b.times[0])


def _concatenated(batches: Sequence[Resolved]) -> Resolved:
    """Batches whose keys follow one another (a sender's messages in order, e.g. meter after meter):
    applying them in turn is writing them all at once, as they are."""
    out = Resolved()
    texts: list[str | None] = []
    for batch in batches:
        out.received += batch.received
        out.keys.update(batch.keys)
        out.series_ids += batch.series_ids
        out.times += batch.times
        out.values += batch.values
        out.qualities += batch.qualities
        texts += batch.time_texts if batch.time_texts is not None else [None] * len(batch.times)
    out.time_texts = texts
    return out


async def write(
    session: AsyncSession, company_id: int, batch: Resolved, *, plan: WritePlan = WritePlan()
) -> IngestReadingsResponse:
    conn = await session.connection()
    await partitions.ensure_months(conn, partitions.months_of(batch.times))  # before any row is written
    latest = await rollups.last_instants(session, list(batch.keys)) if plan.rollups and batch.keys else {}
    written = await repository.upsert(
        session, batch.series_ids, batch.times, batch.values, batch.qualities, plan=plan, time_texts=batch.time_texts
    )
    await events.readings_recorded(session, company_id, written, batch.keys)
    if plan.rollups:
        await rollups.refresh(session, company_id, written, latest, batch.keys)
    count = sum(w.count for w in written)
    return IngestReadingsResponse(received=batch.received, written=count, unchanged=batch.received - count)


async def record_readings(
    session: AsyncSession, company_id: int, items: Any, loc: Sequence[str | int], *, plan: WritePlan = WritePlan()
) -> IngestReadingsResponse:
    """One batch of one company (the HTTP door; ``loc`` is where its items are in the body)."""
    checked = check_items(items, loc)
    return await write(session, company_id, await resolve(session, company_id, checked, loc), plan=plan)


async def record_many(
    session: AsyncSession, batches: Sequence[tuple[int, Any]], *, plan: WritePlan = WritePlan()
) -> None:
    """Several batches (company, readings), e.g. the Kafka door's messages of one fetch, in order: each
    is checked as a batch of its own (a refusal raises for the whole call), then one write per company."""
    per_company: dict[int, list[Resolved]] = {}
    for company_id, items in batches:
        resolved = await resolve(session, company_id, check_items(items, ["readings"]), ["readings"])
        per_company.setdefault(company_id, []).append(resolved)
    for company_id, resolved_batches in per_company.items():
        await write(session, company_id, merge(resolved_batches), plan=plan)


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
