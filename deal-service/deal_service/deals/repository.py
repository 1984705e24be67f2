"""SQL of deals. Every statement is scoped by company and cluster (and by unit for residents)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.datetime_window import Window
from gridcommons.serialization import json_text

from ..db import SCHEMA
from .models import BUCKET_SECONDS, CLUSTER_WIDE
from .models import deal_sum_buckets as buckets
from .models import deals as t
from .schemas import Zone


@dataclass(frozen=True)
class DealScope:
    """Whose deals: a cluster of a company, and for a resident the unit that takes part (either side)."""

    company_id: int
    community_code: str
    cluster_code: str
    unit_code: str | None = None


# The rows as one JSON array, read by jsonb_to_recordset: one parameter encoded by orjson instead of
# thousands bound one by one (measured: the bind processing cost more than PostgreSQL's work).
_ROW_TYPES = (
    "company_id bigint, deal_id text, community_code text, cluster_code text, unit_id text, request_unit_id text, "
    "accept_unit_id text, charge_unit_id text, discharge_unit_id text, create_date_time timestamptz, "
    "deactivate_date_time timestamptz, report_time bigint, progress smallint, cumulate_amount_wh numeric, report jsonb"
)
_UPSERT = text(
    f"""
INSERT INTO {SCHEMA}.deals (company_id, deal_id, community_code, cluster_code, unit_id, request_unit_id, accept_unit_id,
                        charge_unit_id, discharge_unit_id, create_date_time, deactivate_date_time, report_time,
                        progress, cumulate_amount_wh, report)
SELECT r.* FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_ROW_TYPES})
ON CONFLICT (company_id, deal_id) DO UPDATE SET
    community_code = excluded.community_code, cluster_code = excluded.cluster_code, unit_id = excluded.unit_id,
    request_unit_id = excluded.request_unit_id, accept_unit_id = excluded.accept_unit_id,
    charge_unit_id = excluded.charge_unit_id, discharge_unit_id = excluded.discharge_unit_id,
    create_date_time = excluded.create_date_time, deactivate_date_time = excluded.deactivate_date_time,
    report_time = excluded.report_time, progress = excluded.progress,
    cumulate_amount_wh = excluded.cumulate_amount_wh, report = excluded.report, updated_at = now()
-- newer report first; within one second, the report that went further; then more energy
WHERE (excluded.report_time, excluded.progress, coalesce(excluded.cumulate_amount_wh, -1))
    > (deals.report_time, deals.progress, coalesce(deals.cumulate_amount_wh, -1))
RETURNING company_id, deal_id
"""
)


async def upsert_deals(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """One INSERT ... ON CONFLICT of JSON-ready rows (one per deal: the caller keeps the newest report of
    each; instants as ISO 8601 text, the amount as decimal text). An existing deal takes the report
    only when it is newer (the service's ``_order_key``): a late or repeated report changes nothing. Returns the
    (company, deal) pairs created or moved forward. The rows are written in their order."""
    if not rows:
        return []
    result = await session.execute(_UPSERT, {"rows": json_text(rows)})
    return [(r.company_id, r.deal_id) for r in result.all()]


def _scoped(stmt: Select[Any], scope: DealScope) -> Select[Any]:
    stmt = stmt.where(
        t.c.company_id == scope.company_id,
        t.c.community_code == scope.community_code,
        t.c.cluster_code == scope.cluster_code,
    )
    if scope.unit_code is not None:
        stmt = stmt.where(or_(t.c.charge_unit_id == scope.unit_code, t.c.discharge_unit_id == scope.unit_code))
    return stmt


def _windowed(stmt: Select[Any], window: Window | None) -> Select[Any]:
    if window is not None and window.start is not None:
        stmt = stmt.where(t.c.create_date_time >= window.start)
    if window is not None and window.end is not None:
        stmt = stmt.where(t.c.create_date_time < window.end)
    return stmt


async def reports(
    session: AsyncSession,
    scope: DealScope,
    *,
    window: Window | None = None,
    live_since: int | None = None,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The newest report of each deal, ordered by createDateTime (then dealId). ``live_since``: only
    deals not deactivated and reported after that epoch second."""
    stmt = _windowed(_scoped(select(t.c.report), scope), window)
    if live_since is not None:
        stmt = stmt.where(t.c.deactivate_date_time.is_(None), t.c.report_time > live_since)
    stmt = stmt.order_by(t.c.create_date_time, t.c.deal_id).limit(limit).offset(offset)
    return [r.report for r in (await session.execute(stmt)).all()]


async def created_range(session: AsyncSession, scope: DealScope) -> tuple[datetime | None, datetime | None]:
    stmt = _scoped(select(func.min(t.c.create_date_time), func.max(t.c.create_date_time)), scope)
    row = (await session.execute(stmt)).one()
    return row[0], row[1]


def _local_hour(zone: Zone, instant: Any) -> ColumnElement[Any]:
    """The hour of day of ``instant`` in ``zone``: an IANA zone's hours follow its DST (PostgreSQL's AT
    TIME ZONE), a fixed offset shifts UTC."""
    return func.extract("hour", _local(zone, instant))


def _local(zone: Zone, instant: Any) -> ColumnElement[Any]:
    if zone.name is not None:
        return func.timezone(zone.name, instant)
    return func.timezone("UTC", instant + timedelta(minutes=zone.minutes or 0))


def _deal_sums(scope: DealScope, zone: Zone, window: Window | None) -> Select[Any]:
    """(hour, amount, 1) of each deal with an amount in the scope and window, straight from deals."""
    hour = _local_hour(zone, t.c.create_date_time)
    stmt = select(hour.label("hour"), t.c.cumulate_amount_wh.label("total"), literal(1, BigInteger).label("deals"))
    return _windowed(_scoped(stmt, scope), window).where(t.c.cumulate_amount_wh.is_not(None))


async def hourly_sums_of_deals(
    session: AsyncSession, scope: DealScope, zone: Zone, window: Window | None
) -> list[tuple[int, Decimal]]:
    """The hourly sums computed from every deal (the reference of ``hourly_sums``, and its way for a
    fixed offset that is not a whole number of quarter hours)."""
    parts = _deal_sums(scope, zone, window).subquery()
    return await _by_hour(session, parts)


async def _by_hour(session: AsyncSession, parts: Any) -> list[tuple[int, Decimal]]:
    stmt = (
        select(parts.c.hour, func.sum(parts.c.total))
        .group_by(parts.c.hour)
        .having(func.sum(parts.c.deals) > 0)
        .order_by(parts.c.hour)
    )
    return [(int(h), s) for h, s in (await session.execute(stmt)).all()]


def quarter_floor(instant: datetime) -> datetime:
    """The start of the 15-minute UTC bucket holding ``instant`` (buckets count from a UTC midnight)."""
    return instant - (instant - BUCKET_ORIGIN) % BUCKET


def quarter_ceil(instant: datetime) -> datetime:
    floor = quarter_floor(instant)
    return floor if floor == instant else floor + BUCKET


BUCKET = timedelta(seconds=BUCKET_SECONDS)
BUCKET_ORIGIN = datetime(1900, 1, 1, tzinfo=UTC)  # the migration's date_bin origin
BUCKET_LAST = BUCKET - timedelta(microseconds=1)  # the last instant of a bucket, from its start


async def hourly_sums(
    session: AsyncSession, scope: DealScope, zone: Zone, window: Window | None
) -> list[tuple[int, Decimal]]:
    """Sum of cumulateAmountWh by the hour of day (0..23) of createDateTime in ``zone``, only the hours
    that have deals with an amount; the same answer as ``hourly_sums_of_deals``, read from the
    15-minute buckets of ``deal_sum_buckets``.

    A bucket lies within one local hour when the zone's offset is the same over the whole bucket and
    puts its start on a local quarter hour: true of every fixed offset in whole quarter hours and of
    every IANA zone today, DST changes included (they happen on quarter hours); not of local mean time
    offsets (before ~1900-1980 depending on the zone) nor of a bucket holding a change at an odd
    instant. Such buckets are summed from their deals, as are the parts of the window that cut a bucket."""
    if zone.name is None and (zone.minutes or 0) % 15:
        return await hourly_sums_of_deals(session, scope, zone, window)
    start = None if window is None else window.start
    end = None if window is None else window.end
    low = None if start is None else quarter_ceil(start)
    high = None if end is None else quarter_floor(end)
    if low is not None and high is not None and low >= high:  # the window is within a bucket or two
        return await hourly_sums_of_deals(session, scope, zone, window)
    b = buckets
    selected = select(b.c.bucket, b.c.deals, b.c.total).where(
        b.c.company_id == scope.company_id,
        b.c.community_code == scope.community_code,
        b.c.cluster_code == scope.cluster_code,
        b.c.unit_code == (CLUSTER_WIDE if scope.unit_code is None else scope.unit_code),
        b.c.deals > 0,
    )
    if low is not None:
        selected = selected.where(b.c.bucket >= low)
    if high is not None:
        selected = selected.where(b.c.bucket < high)
    r = _hours_of_buckets(zone, selected.cte("selected")).cte("r")
    split = _deal_sums(scope, zone, None).join_from(
        r, t, and_(t.c.create_date_time >= r.c.bucket, t.c.create_date_time < r.c.bucket + BUCKET)
    )
    parts: list[Select[Any]] = [
        select(r.c.hour, r.c.total, r.c.deals).where(r.c.exact),
        split.where(~r.c.exact),
    ]
    if low is not None and start is not None and start < low:
        parts.append(_deal_sums(scope, zone, Window(start, low)))
    if high is not None and end is not None and high < end:
        parts.append(_deal_sums(scope, zone, Window(high, end)))
    return await _by_hour(session, union_all(*parts).subquery())


def _hours_of_buckets(zone: Zone, selected: Any) -> Select[Any]:
    """(bucket, deals, total, hour, exact) of the selected buckets: ``hour`` the local hour of the bucket's
    start, ``exact`` whether the whole bucket lies in that hour.

    An IANA zone's offsets are looked up once per UTC day of the buckets (two lookups), not per bucket:
    on a day whose offset is the same at both ends and a whole number of quarter hours (every day but
    the DST days today), a bucket's hour is its UTC time plus that offset. The other days' buckets are
    judged one by one."""
    if zone.name is None:  # a fixed offset in whole quarter hours
        hour = _local_hour(zone, selected.c.bucket)
        return select(selected.c.bucket, selected.c.deals, selected.c.total, hour.label("hour"), true().label("exact"))
    day = func.date_bin(timedelta(days=1), selected.c.bucket, BUCKET_ORIGIN)
    with_day = select(selected, day.label("day")).cte("with_day")
    start_offset = _offset(zone, with_day.c.day)
    days = (
        select(
            with_day.c.day,
            start_offset.label("offset"),
            and_(
                start_offset == _offset(zone, with_day.c.day + DAY_LAST),
                func.mod(func.extract("epoch", start_offset), BUCKET_SECONDS) == 0,
            ).label("steady"),
        )
        .group_by(with_day.c.day)
        .cte("days")
    )
    bucket = with_day.c.bucket
    hour = case(
        (days.c.steady, func.extract("hour", func.timezone("UTC", bucket) + days.c.offset)),
        else_=_local_hour(zone, bucket),
    )
    exact = case((days.c.steady, true()), else_=_bucket_in_one_hour(zone, bucket))
    return select(bucket, with_day.c.deals, with_day.c.total, hour.label("hour"), exact.label("exact")).join_from(
        with_day, days, days.c.day == with_day.c.day
    )


def _offset(zone: Zone, instant: Any) -> ColumnElement[Any]:
    """The zone's offset from UTC at ``instant`` (an interval)."""
    return _local(zone, instant) - func.timezone("UTC", instant)


DAY_LAST = timedelta(days=1, microseconds=-1)


def _bucket_in_one_hour(zone: Zone, bucket: Any) -> ColumnElement[bool]:
    if zone.name is None:  # a fixed offset in whole quarter hours
        return true()
    first, last = _local(zone, bucket), _local(zone, bucket + BUCKET_LAST)
    # the same offset at both ends, and the bucket's start on a local quarter hour
    return and_(
        last - first == BUCKET_LAST,
        func.extract("second", first) == 0,
        func.mod(func.extract("minute", first), 15) == 0,
    )
