"""Rules of rollups: recomputed from the raw readings in the ingestion's own transaction (so a read
after a write sees them), and aggregated into the calendar buckets of any time zone on read.

A batch touches, per series, the UTC days of its first to last instant (and the day before when its
first instant closes the previous day's last quarter). Those days' quarters are recomputed from the
readings (``quarters.compute``), compared with the stored ones and only changed days rewritten. When
the batch holds readings at or before the series' latest stored reading (late or corrected data) and
quarters changed, ``metering.rollup.revised.v1`` names the changed range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.timeutil import calendar_buckets

from ..readings.repository import Written, driver_connection
from ..series import repository as series_repository
from ..series.schemas import _zones
from . import events, repository
from .quarters import (
    DAY_US,
    QUARTER_US,
    QUARTERS_PER_DAY,
    Quarters,
    RollupRange,
    aggregate,
    compute,
    from_us,
    micro_text,
    to_us,
)
from .schemas import MAX_BUCKETS, Resolution

ROLLUP_LIMIT_TEXT = "9,223,372,036,854.775806"
SERIES_INFO = "SELECT id, kind, timezone FROM metering.series WHERE company_id = $1 AND id = ANY($2::bigint[])"


def _changed_quarters(old: Quarters, new: Quarters, day: int) -> list[int]:
    """Offsets (in the run) of the day's quarters whose rollups differ."""
    out = []
    for k in range(day * QUARTERS_PER_DAY, (day + 1) * QUARTERS_PER_DAY):
        if not (
            old.value[k] == new.value[k]
            and old.covered[k] == new.covered[k]
            and old.remainder[k] == new.remainder[k]
            and old.resets[k] == new.resets[k]
            and old.minimum[k] == new.minimum[k]
            and old.maximum[k] == new.maximum[k]
        ):
            out.append(k)
    return out


async def last_instants(session: AsyncSession, series_ids: Sequence[int]) -> dict[int, datetime]:
    """Before a write: the latest stored reading of each series (to tell late data from new data)."""
    return await repository.last_instants(await driver_connection(session), sorted(set(series_ids)))


async def refresh(
    session: AsyncSession,
    company_id: int,
    written: Sequence[Written],
    latest_before: Mapping[int, datetime],
    keys: Mapping[int, str],
) -> None:
    """Recompute the rollups of the days a batch wrote; publish the revisions of late or corrected data."""
    if not written:
        return
    conn = await driver_connection(session)
    ids = [w.series_id for w in written]
    # Two concurrent batches of one series would each miss the other's uncommitted readings: the
    # second waits here until the first commits, then recomputes from both (ids in order: no deadlock).
    await repository.lock_series(conn, ids)
    info = {r["id"]: r for r in await conn.fetch(SERIES_INFO, company_id, ids)}
    revised: list[events.RollupRevisedV1] = []
    for w in written:
        cumulative = info[w.series_id]["kind"] == "cumulative"
        first_day = (to_us(w.first) - 1) // DAY_US  # a reading at midnight closes the day before
        end_day = to_us(w.last) // DAY_US + 1
        count = (end_day - first_day) * QUARTERS_PER_DAY
        try:
            times, values = await repository.readings_between(conn, w.series_id, first_day * DAY_US, end_day * DAY_US)
            new = compute(cumulative, times, values, first_day * QUARTERS_PER_DAY, count)
        except RollupRange as exc:
            # the batch's transaction rolls back: nothing written
            raise ValidationFailed.at(
                ["body", "readings"],
                f"series {w.series_id}: {exc} is beyond the range of the rollups (±{ROLLUP_LIMIT_TEXT} "
                "units with 6 decimals)",
                None,
            ) from None
        old = await repository.load_days(conn, w.series_id, first_day, end_day, instantaneous=not cumulative)
        changed_days: list[int] = []
        changed: list[int] = []
        for d in range(end_day - first_day):
            quarters = _changed_quarters(old, new, d)
            if quarters:
                changed_days.append(d)
                changed += quarters
        if not changed_days:
            continue
        await repository.store_days(conn, w.series_id, cumulative, new, changed_days)
        before = latest_before.get(w.series_id)
        if before is not None and w.first <= before:
            revised.append(
                events.RollupRevisedV1.model_validate(
                    {
                        "series_id": w.series_id,
                        "external_key": keys[w.series_id],
                        "timezone": info[w.series_id]["timezone"],
                        "from": from_us((new.first + changed[0]) * QUARTER_US),
                        "to": from_us((new.first + changed[-1] + 1) * QUARTER_US),
                    }
                )
            )
    await events.rollups_revised(session, company_id, revised)


def check_timezone(tz: str | None, default: str) -> ZoneInfo:
    name = default if tz is None else tz
    if name not in _zones():
        raise ValidationFailed([field_error(["query", "tz"], "must be an IANA time zone name, e.g. Europe/Paris", tz)])
    return ZoneInfo(name)


def quarter_index(instant: datetime) -> int:
    """The quarter hour that starts at or holds ``instant`` (bucket edges fall on quarter hours)."""
    return to_us(instant) // QUARTER_US


def buckets_of(
    cumulative: bool, quarters: Quarters, bounds: Sequence[tuple[datetime, datetime]]
) -> list[dict[str, Any]]:
    """The buckets as the JSON-ready shape of ``RollupBucket`` (plain dicts: a year of quarter hours is
    35,040 of them, and the values are computed here, not input to check); values as decimal text."""
    out = []
    for lo, hi in bounds:
        b = aggregate(cumulative, quarters, quarter_index(lo), quarter_index(hi))
        us = to_us(hi) - to_us(lo)
        out.append(
            {
                "start": lo.isoformat(),
                "end": hi.isoformat(),
                "value": None if b.value is None else micro_text(b.value),
                "min": None if b.minimum is None else micro_text(b.minimum),
                "max": None if b.maximum is None else micro_text(b.maximum),
                "counter_resets": b.resets,
                "coverage": {
                    "expected": b.expected,
                    "received": b.received,
                    "fraction": min(round(b.covered_us / us, 6), 1.0),
                },
            }
        )
    return out


async def read_rollups(
    session: AsyncSession,
    company_id: int,
    series_id: int,
    start: datetime | None,
    end: datetime | None,
    resolution: Resolution,
    tz: str | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The series (its company checked) and its buckets of ``resolution`` in the calendar of ``tz`` (default:
    the series' own) that overlap ``[start, end)``."""
    series = await series_repository.get_series(session, company_id, series_id)
    if series is None:
        raise NotFound(f"Series {series_id} not found")
    zone = check_timezone(tz, series["timezone"])
    errors = []
    if start is None:
        errors.append(field_error(["query", "from"], "from is required for a rollup resolution", None))
    if end is None:
        errors.append(field_error(["query", "to"], "to is required for a rollup resolution", None))
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    if end <= start:
        raise ValidationFailed([field_error(["query", "to"], "to must be after from", end.isoformat())])
    # a quick bound before building the buckets: quarters are the finest of them
    step_seconds = {"15m": 900, "1h": 3600, "1d": 82_800, "1mo": 2_419_200}[resolution.value]
    if math.ceil((end - start).total_seconds() / step_seconds) > MAX_BUCKETS + 1:
        raise ValidationFailed(
            [field_error(["query", "to"], f"at most {MAX_BUCKETS:,} buckets per read: narrow the range", None)]
        )
    bounds = calendar_buckets(start, end, zone, resolution.value)
    if len(bounds) > MAX_BUCKETS:
        raise ValidationFailed(
            [field_error(["query", "to"], f"at most {MAX_BUCKETS:,} buckets per read: narrow the range", None)]
        )
    first_day = quarter_index(bounds[0][0]) // QUARTERS_PER_DAY
    end_day = (quarter_index(bounds[-1][1]) - 1) // QUARTERS_PER_DAY + 1
    cumulative = series["kind"] == "cumulative"
    quarters = await repository.load_days(
        await driver_connection(session), series_id, first_day, end_day, instantaneous=not cumulative
    )
    return dict(series), buckets_of(cumulative, quarters, bounds)
