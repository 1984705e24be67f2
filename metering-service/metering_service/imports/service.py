"""Rules of CSV imports: a file of millions of rows for one series, read as it arrives (never whole in
memory), checked and written in chunks of ``CHUNK_ROWS`` rows through the readings' write path (the
same checks, quality rule, partitions and events as the ingestion door), each chunk in its own
transaction together with the import's counters, so that the progress resource shows what is stored.

Unlike the all-or-nothing ingestion door, a bad row does not refuse the file: it is counted and listed
(line, column, reason; the first ``MAX_REJECTIONS``) and the other rows are written. A file is applied as
its chunks one after the other: a time repeated in a later chunk follows the quality rule like a later
batch; within a chunk, another value for the same time rejects the later row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.errors import NotFound, ValidationFailed
from gridcommons.pagination import Page

from ..readings import service as readings
from ..readings.parsing import check_items
from ..readings.repository import WritePlan
from ..series import repository as series_repository
from . import repository
from .schemas import CHUNK_ROWS, COLUMNS, MAX_REJECTIONS, ImportListResponse, ImportResponse

MAX_LINE_BYTES = 64 * 1024  # a line of time,value,quality,unit is under 100 bytes
HEADER_HINT = "the first line names the columns: time, value and optionally quality and unit"
_ITEM = re.compile(r"^item (\d+) ")


def refused(loc: list[str | int], msg: str) -> ValidationFailed:
    """The file cannot be imported at all (nothing is written, no import is created)."""
    return ValidationFailed.at(loc, msg)


async def lines(stream: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """(line number, line without its end) of a byte stream, holding at most one line in memory; a line
    over ``MAX_LINE_BYTES`` stops the file (ValidationFailed naming it)."""
    pending = b""
    number = 0
    async for chunk in stream:
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            number += 1
            if end - start > MAX_LINE_BYTES:
                raise ValidationFailed.at(["body", number], f"a line is at most {MAX_LINE_BYTES:,} bytes")
            yield number, pending[start:end].rstrip(b"\r")
            start = end + 1
        pending = pending[start:]
        if len(pending) > MAX_LINE_BYTES:
            raise ValidationFailed.at(["body", number + 1], f"a line is at most {MAX_LINE_BYTES:,} bytes")
    if pending:  # the last line, without its end (its length was checked above)
        yield number + 1, pending.rstrip(b"\r")


def _cells(line: bytes, number: int) -> list[str]:
    text = line.decode("utf-8-sig" if number == 1 else "utf-8")
    return next(csv.reader([text]), [])


@dataclass
class Chunk:
    lines: list[int] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0


def _header(line: bytes) -> list[str]:
    try:
        names = [h.strip() for h in _cells(line, 1)]
    except (UnicodeDecodeError, csv.Error):
        raise refused(["body", 1], f"The CSV header is not readable: {HEADER_HINT}") from None
    unknown = sorted(set(names) - COLUMNS)
    if unknown or len(set(names)) != len(names) or not {"time", "value"} <= set(names):
        raise refused(["body", 1], f"The CSV header names {names}: {HEADER_HINT} (each once)")
    return names


def _rejection(line: int, column: Any, reason: str, value: Any = None) -> dict[str, Any]:
    return {"line": line, "field": column if isinstance(column, str) else None, "reason": reason, "value": value}


def _line_of_item(msg: str, lines_: list[int]) -> str:
    """The readings' "item N ..." (an index in the chunk) as the file's line."""
    return _ITEM.sub(lambda m: f"line {lines_[int(m.group(1))]} ", msg)


async def _checked(session: AsyncSession, company_id: int, series_id: int, chunk: Chunk) -> Any:
    """The chunk's valid rows resolved for writing (None if none is left); rejected rows move to
    ``chunk.rejections``. The readings' checks list at most 1,000 errors at a time: repeat until clean."""
    lines_, items = chunk.lines, chunk.items
    while items:
        try:
            checked = check_items(items, ["rows"])
            return await readings.resolve(session, company_id, checked, ["rows"])
        except ValidationFailed as exc:
            bad: dict[int, dict[str, Any]] = {}
            for e in exc.errors:
                loc = e.get("loc") or []
                if len(loc) >= 2 and type(loc[1]) is int:
                    bad.setdefault(loc[1], e)
            if not bad:
                raise
            for index, e in sorted(bad.items()):
                reason = _line_of_item(e["msg"], lines_)
                loc = e["loc"]
                chunk.rejections.append(
                    _rejection(lines_[index], loc[2] if len(loc) > 2 else None, reason, e.get("input"))
                )
            keep = [k for k in range(len(items)) if k not in bad]
            lines_, items = [lines_[k] for k in keep], [items[k] for k in keep]
    return None


async def run_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    company_id: int,
    series_id: int,
    stream: AsyncIterator[bytes],
    *,
    plan: WritePlan,
) -> ImportResponse:
    """Import a CSV byte stream into the series; the finished import (completed, or failed mid-file)."""
    async with sessionmaker() as session:
        series = await series_repository.get_series(session, company_id, series_id)
    if series is None:
        raise NotFound(f"Series {series_id} not found")
    if series["retired_at"] is not None:
        raise refused(["path", "series_id"], f"Series {series_id} is retired: it accepts no readings")
    rows = lines(stream)
    header: list[str] | None = None
    async for _number, line in rows:
        if line.strip():
            header = _header(line)
            break
    if header is None:
        raise refused(["body"], f"The file is empty: {HEADER_HINT}")
    async with sessionmaker() as session, session.begin():
        created = await repository.create_import(session, company_id, series_id)
    import_id = int(created["id"])
    listed = 0
    chunk = Chunk()

    async def flush() -> None:
        nonlocal listed, chunk
        async with sessionmaker() as session, session.begin():
            resolved = await _checked(session, company_id, series_id, chunk)
            written = unchanged = 0
            if resolved is not None:
                answer = await readings.write(session, company_id, resolved, plan=plan)
                written, unchanged = answer.written, answer.unchanged
            room = max(0, MAX_REJECTIONS - listed)
            shown = sorted(chunk.rejections, key=lambda r: r["line"])[:room]
            listed += len(shown)
            await repository.advance(
                session,
                import_id,
                read=chunk.read,
                written=written,
                unchanged=unchanged,
                rejected=len(chunk.rejections),
                listed=shown,
            )
        chunk = Chunk()

    try:
        async for number, line in rows:
            if not line.strip():
                continue
            chunk.read += 1
            try:
                cells = _cells(line, number)
            except (UnicodeDecodeError, csv.Error) as exc:
                chunk.rejections.append(_rejection(number, None, f"not a CSV line of UTF-8 text: {exc}"))
            else:
                if len(cells) != len(header):
                    chunk.rejections.append(
                        _rejection(number, None, f"{len(cells)} cells where the header names {len(header)}")
                    )
                else:
                    item: dict[str, Any] = {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""}
                    item["series_id"] = series_id
                    chunk.lines.append(number)
                    chunk.items.append(item)
            if chunk.read >= CHUNK_ROWS:
                await flush()
        if chunk.read:
            await flush()
    except BaseException as exc:
        reason = exc.errors[0]["msg"] if isinstance(exc, ValidationFailed) else "the upload stopped before its end"
        async with sessionmaker() as session, session.begin():
            await repository.finish(session, import_id, "failed", f"{reason}; the rows counted as written stay")
        raise
    async with sessionmaker() as session, session.begin():
        return ImportResponse.from_row(await repository.finish(session, import_id, "completed"))


async def get_import(session: AsyncSession, company_id: int, series_id: int, import_id: int) -> ImportResponse:
    row = await repository.get_import(session, company_id, series_id, import_id)
    if row is None:
        raise NotFound(f"Import {import_id} of series {series_id} not found")
    return ImportResponse.from_row(row)


async def list_imports(session: AsyncSession, company_id: int, series_id: int, page: Page) -> ImportListResponse:
    if await series_repository.get_series(session, company_id, series_id) is None:
        raise NotFound(f"Series {series_id} not found")
    rows = await repository.list_imports(session, company_id, series_id, page)
    return ImportListResponse(imports=[ImportResponse.from_row(r) for r in rows])
