"""Helpers shared by the period-series domains (forecasts, reservations, state snapshots).

They live here because those domains are owned together; they could move to a common
asset-service module (or the kernel) unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.quantity import format_decimal
from gridcommons.timeutil import QUARTER_HOUR, utcnow

from ..db import outbox

ASSET_ID_MAX = 128
ASSET_ID_PATTERN = r"^[^\x00]+$"  # PostgreSQL text cannot hold NUL: such an id is malformed, not unknown
PERIOD = QUARTER_HOUR
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("timestamp out of range") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError("timestamp must be between 1900-01-01T00:00:00Z and 9999-01-01T00:00:00Z")
    return utc


# An instant with an explicit offset (naive timestamps are refused), normalised to UTC, 1900..9999.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# The shared wire shape of the "bad request that needs the database" answers: FastAPI's own 422 body.
Loc = Sequence[str | int]


def validation_error(errors: Iterable[tuple[Loc, str, Any]]) -> RequestValidationError:
    """A 422 in FastAPI's validation shape: ``{"detail": [{"loc", "msg", "type", "input"}]}``."""
    return RequestValidationError(
        [{"loc": list(loc), "msg": msg, "type": "value_error", "input": value} for loc, msg, value in errors]
    )


def split_csv(values: Iterable[str]) -> list[str]:
    """Repeated and/or comma-separated query values, stripped, in first-seen order, without duplicates."""
    out: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                out[part] = None
    return list(out)


def asset_ids_param(
    asset_ids: Annotated[
        list[str],
        Query(min_length=1, description="Asset ids; repeat the parameter or separate ids with commas."),
    ],
) -> list[str]:
    """The ``asset_ids`` query parameter: non-empty after splitting, each id 1..128 characters."""
    ids = split_csv(asset_ids)
    if not ids:
        raise validation_error([(("query", "asset_ids"), "asset_ids must name at least one asset id", asset_ids)])
    bad = [i for i in ids if len(i) > ASSET_ID_MAX or "\x00" in i]
    if bad:
        raise validation_error(
            [(("query", "asset_ids"), f"malformed asset id (1..{ASSET_ID_MAX} characters, no NUL)", i) for i in bad]
        )
    return ids


def as_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def check_window(start: datetime, end: datetime, *, start_name: str = "from", end_name: str = "to") -> None:
    if end <= start:
        raise validation_error([(("query", end_name), f"{end_name} must be after {start_name}", end.isoformat())])


def check_quarter_period(start: datetime, end: datetime) -> None:
    """Raise ValueError unless [start, end) is exactly one quarter-aligned 15-minute delivery period."""
    problems = []
    s, e = as_utc(start), as_utc(end)
    if not _aligned(s):
        problems.append("start_time must be aligned to a quarter hour (:00, :15, :30, :45, no seconds)")
    if not _aligned(e):
        problems.append("end_time must be aligned to a quarter hour (:00, :15, :30, :45, no seconds)")
    if e <= s:
        problems.append("end_time must be after start_time")
    elif e - s != PERIOD:
        problems.append("a period is exactly 15 minutes: end_time must be start_time + 15 minutes")
    if problems:
        raise ValueError("; ".join(problems))


def _aligned(instant: datetime) -> bool:
    # In UTC: every supported region's offset is a whole number of hours, so UTC quarters are local quarters.
    return instant.second == 0 and instant.microsecond == 0 and instant.minute % 15 == 0


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


async def publish_many(
    session: AsyncSession,
    *,
    topic: str,
    type: str,
    company_id: int,
    events: Sequence[tuple[str, Any]],
) -> None:
    """Write several events (subject = key, data) to the outbox in one INSERT and one NOTIFY.

    The rows are those ``Outbox.publish`` writes one at a time (a CloudEvents 1.0 envelope in
    ``payload``; the relay validates it as a ``CloudEvent``). ``data`` must already be JSON-ready.
    A batch touching many assets costs two statements instead of two per asset, and the envelope is
    encoded once with orjson instead of being walked by pydantic and then by ``json.dumps``.
    """
    if not events:
        return
    now = iso_utc(utcnow())
    ids, payloads = [], []
    for subject, data in events:
        event_id = str(uuid.uuid4())
        ids.append(event_id)
        envelope = {
            "specversion": "1.0",
            "id": event_id,
            "source": outbox.source,
            "type": type,
            "time": now,
            "subject": subject,
            "datacontenttype": "application/json",
            "companyid": str(company_id),
            "data": data,
        }
        payloads.append(orjson.dumps(envelope).decode())
    await session.execute(
        text(
            f'INSERT INTO "{outbox.schema}".outbox (event_id, topic, key, payload) '
            "SELECT e.id, CAST(:topic AS text), e.key, CAST(e.payload AS jsonb) "
            "FROM unnest(CAST(:ids AS text[]), CAST(:keys AS text[]), CAST(:payloads AS text[])) "
            "AS e(id, key, payload)"
        ),
        {"topic": topic, "ids": ids, "keys": [subject for subject, _ in events], "payloads": payloads},
    )
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": outbox.channel})


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
