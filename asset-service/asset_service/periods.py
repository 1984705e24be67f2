"""Helpers shared by the period-series domains (forecasts, reservations, state snapshots):
quarter-hour periods, duplicate keys in a batch, batch writes and window reads, JSON-ready output
and one event per asset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import Field, model_validator
from sqlalchemy import Executable, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.quantity import format_decimal
from gridcommons.timeutil import QUARTER_HOUR, delivery_day_of, is_quarter_aligned, iso_utc
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from .db import outbox
from .validation import AssetIdField

PERIOD = QUARTER_HOUR


def as_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def check_window(start: datetime, end: datetime, *, start_name: str = "from", end_name: str = "to") -> None:
    if end <= start:
        raise ValidationFailed(
            [field_error(["query", end_name], f"{end_name} must be after {start_name}", end.isoformat())]
        )


def utc_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The query window [start, end) in UTC; 422 unless end is after start."""
    start, end = as_utc(start), as_utc(end)
    check_window(start, end)
    return start, end


def check_quarter_period(start: datetime, end: datetime) -> None:
    """Raise ValueError unless [start, end) is exactly one quarter-aligned 15-minute delivery period."""
    problems = []
    # In UTC: every supported region's offset is a whole number of hours, so UTC quarters are local quarters.
    s, e = as_utc(start), as_utc(end)
    if not is_quarter_aligned(s):
        problems.append("start_time must be aligned to a quarter hour (:00, :15, :30, :45, no seconds)")
    if not is_quarter_aligned(e):
        problems.append("end_time must be aligned to a quarter hour (:00, :15, :30, :45, no seconds)")
    if e <= s:
        problems.append("end_time must be after start_time")
    elif e - s != PERIOD:
        problems.append("a period is exactly 15 minutes: end_time must be start_time + 15 minutes")
    if problems:
        raise ValueError("; ".join(problems))


def duplicates(keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[int]]:
    """{key: [item indexes]} for every key that occurs more than once."""
    seen: dict[tuple[Any, ...], list[int]] = {}
    for i, key in enumerate(keys):
        seen.setdefault(key, []).append(i)
    return {k: v for k, v in seen.items() if len(v) > 1}


def check_unique(keys: Sequence[tuple[Any, ...]], names: Sequence[str]) -> None:
    """Raise ValueError naming every group of batch items that share a key (``names`` its fields)."""
    dups = duplicates(keys)
    if dups:
        raise ValueError(describe_duplicates(dups, names))


class AssetPeriodIn(WireModel):
    """An input row of one asset for one 15-minute delivery period: the key fields and their rules
    (quarter-aligned, exactly 15 minutes; delivery_day is derived, never sent)."""

    asset_id: AssetIdField
    start_time: UtcInstant = Field(
        description="Start of the 15-minute period (quarter-aligned).", examples=["2027-01-15T08:00:00Z"]
    )
    end_time: UtcInstant = Field(
        description="End of the period, exactly start_time + 15 minutes.", examples=["2027-01-15T08:15:00Z"]
    )

    @model_validator(mode="before")
    @classmethod
    def _no_delivery_day(cls, data: Any) -> Any:
        if isinstance(data, dict) and "delivery_day" in data:
            raise ValueError("delivery_day is derived server-side from start_time and must not be supplied")
        return data

    @model_validator(mode="after")
    def _period(self) -> Self:
        check_quarter_period(self.start_time, self.end_time)
        return self


def describe_duplicates(dups: dict[tuple[Any, ...], list[int]], names: Sequence[str]) -> str:
    parts = []
    for key, idx in dups.items():
        shown = ", ".join(
            f"{n}={v.isoformat() if isinstance(v, datetime) else v}" for n, v in zip(names, key, strict=True)
        )
        parts.append(f"items {', '.join(map(str, idx))} share ({shown})")
    return f"duplicate ({', '.join(names)}) in one batch: " + "; ".join(parts)


# ---- SQL: one statement per batch, one select per window ----


def period_columns(items: Sequence[Any], regions: Mapping[str, str]) -> dict[str, list[Any]]:
    """The period arrays of a batch of items (each with asset_id, start_time, end_time):
    asset_id, start_time, end_time and delivery_day (the start's local date in the asset's region)."""
    return {
        "asset_id": [i.asset_id for i in items],
        "start_time": [i.start_time for i in items],
        "end_time": [i.end_time for i in items],
        "delivery_day": [delivery_day_of(i.start_time, regions[i.asset_id]) for i in items],
    }


async def upsert_batch(
    session: AsyncSession, statement: Executable, company_id: int, columns: Mapping[str, Sequence[Any]]
) -> list[dict[str, Any]]:
    """Run a batch upsert (``columns``: its unnest arrays, by parameter name); its RETURNING rows as dicts."""
    result = await session.execute(statement, {"company_id": company_id, **columns})
    return [dict(r._mapping) for r in result]


@dataclass(frozen=True)
class PeriodTable:
    """What a window read of a period table selects: its ``columns``, ordered by ``order_by``."""

    table: Table
    columns: Sequence[str]
    order_by: Sequence[str]


@dataclass(frozen=True)
class PeriodWindow:
    """A window query: rows of ``asset_ids`` with start_time in [start, end) (UTC), each ``filters``
    column in its list (a None or empty list filters nothing)."""

    asset_ids: Sequence[str]
    start: datetime
    end: datetime
    filters: Mapping[str, Sequence[str] | None] = field(default_factory=dict)


async def read_window(
    session: AsyncSession, source: PeriodTable, company_id: int, window: PeriodWindow, page: Page
) -> list[dict[str, Any]]:
    """The company's rows of ``source`` in ``window``, ordered, one page."""
    c = source.table.c
    stmt = select(*(c[name] for name in source.columns)).where(
        c.company_id == company_id,
        c.asset_id.in_(window.asset_ids),
        c.start_time >= window.start,
        c.start_time < window.end,
    )
    for name, values in window.filters.items():
        if values:
            stmt = stmt.where(c[name].in_(values))
    stmt = stmt.order_by(*(c[name] for name in source.order_by)).limit(page.limit).offset(page.offset)
    return [dict(row._mapping) for row in await session.execute(stmt)]


# Rows per event: 1,000 of the largest rows (snapshots, forecasts, reservations) are ~350-450 kB.
MAX_EVENT_ITEMS = 1000


async def publish_per_asset(
    session: AsyncSession, *, topic: str, type: str, company_id: int, rows: list[dict[str, Any]], items_key: str
) -> None:
    """One event per asset of ``rows`` (JSON-ready, in order) and per ``MAX_EVENT_ITEMS`` of its rows,
    key = asset id, data = ``{"asset_id": ..., items_key: [the asset's rows]}``; all in one outbox
    statement. The split keeps every event under Kafka's default 1 MB message limit (a 10,000-snapshot
    batch for one asset would be ~3 MB in one event: never publishable, and blocking the relay)."""
    per_asset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_asset.setdefault(row["asset_id"], []).append(row)
    await outbox.publish_many(
        session,
        topic=topic,
        type=type,
        company_id=company_id,
        events=[
            (asset_id, {"asset_id": asset_id, items_key: items[i : i + MAX_EVENT_ITEMS]})
            for asset_id, items in per_asset.items()
            for i in range(0, len(items), MAX_EVENT_ITEMS)
        ],
    )


# ---- output: JSON-ready rows built once, shared by the response and the event ----
# (The pydantic *Out models document the shapes in OpenAPI; building 1,000 rows through them, and
# then dumping them twice, cost more than the database statement.)


def period_json(row: dict[str, Any]) -> dict[str, Any]:
    """The period fields of a database row as the API writes them: asset_id, start_time, end_time, delivery_day."""
    return {
        "asset_id": row["asset_id"],
        "start_time": iso_utc(row["start_time"]),
        "end_time": iso_utc(row["end_time"]),
        "delivery_day": row["delivery_day"].isoformat(),
    }


def quantity(amount: Decimal | None, unit: str) -> dict[str, str] | None:
    return None if amount is None else {"amount": format_decimal(amount), "unit": unit}


def amount(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)
