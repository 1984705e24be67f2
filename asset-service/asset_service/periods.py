"""Helpers shared by the period-series domains (forecasts, reservations, state snapshots):
quarter-hour periods, duplicate keys in a batch, JSON-ready output and one event per asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.quantity import format_decimal
from gridcommons.timeutil import QUARTER_HOUR, is_quarter_aligned
from gridcommons.validation import field_error, unprocessable

from .db import outbox

PERIOD = QUARTER_HOUR


def as_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def check_window(start: datetime, end: datetime, *, start_name: str = "from", end_name: str = "to") -> None:
    if end <= start:
        raise unprocessable(
            [field_error(["query", end_name], f"{end_name} must be after {start_name}", end.isoformat())]
        )


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


def describe_duplicates(dups: dict[tuple[Any, ...], list[int]], names: Sequence[str]) -> str:
    parts = []
    for key, idx in dups.items():
        shown = ", ".join(
            f"{n}={v.isoformat() if isinstance(v, datetime) else v}" for n, v in zip(names, key, strict=True)
        )
        parts.append(f"items {', '.join(map(str, idx))} share ({shown})")
    return f"duplicate ({', '.join(names)}) in one batch: " + "; ".join(parts)


async def publish_per_asset(
    session: AsyncSession, *, topic: str, type: str, company_id: int, rows: list[dict[str, Any]], items_key: str
) -> None:
    """One event per asset of ``rows`` (JSON-ready, in order), key = asset id, data =
    ``{"asset_id": ..., items_key: [the asset's rows]}``; all in one outbox statement."""
    per_asset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_asset.setdefault(row["asset_id"], []).append(row)
    await outbox.publish_many(
        session,
        topic=topic,
        type=type,
        company_id=company_id,
        events=[(asset_id, {"asset_id": asset_id, items_key: items}) for asset_id, items in per_asset.items()],
    )


# ---- output: JSON-ready rows built once, shared by the response and the event ----
# (The pydantic *Out models document the shapes in OpenAPI; building 1,000 rows through them, and
# then dumping them twice, cost more than the database statement.)


def iso_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as pydantic writes datetimes (microseconds only when non-zero)."""
    text = instant.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def quantity(amount: Decimal | None, unit: str) -> dict[str, str] | None:
    return None if amount is None else {"amount": format_decimal(amount), "unit": unit}


def amount(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def json_response(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")
