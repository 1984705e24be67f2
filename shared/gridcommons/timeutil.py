"""Time helpers: UTC now, instants as text, the regions' local calendars, delivery days and quarter hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REGION_TIMEZONES: dict[str, ZoneInfo] = {"DE": ZoneInfo("Europe/Berlin"), "PL": ZoneInfo("Europe/Warsaw")}
QUARTER_HOUR = timedelta(minutes=15)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(instant: datetime, *, timespec: str = "auto") -> str:
    """ISO 8601 in UTC with a ``Z``, as pydantic writes datetimes (microseconds only when non-zero;
    ``timespec`` as ``datetime.isoformat``, e.g. "seconds"). The one instant formatter of hand-built
    JSON and messages; decimals have ``gridcommons.quantity.format_decimal``."""
    text = instant.astimezone(UTC).isoformat(timespec=timespec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def region_tz(region: str) -> ZoneInfo:
    return REGION_TIMEZONES[region]


def delivery_day_bounds(day: date, region: str) -> tuple[datetime, datetime]:
    """[start, end) of a delivery day in UTC; 23, 24 or 25 hours long."""
    tz = region_tz(region)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    return start, end


def quarter_hours(day: date, region: str) -> list[datetime]:
    """Start instants (UTC) of the day's quarter hours: 92, 96 or 100 of them."""
    start, end = delivery_day_bounds(day, region)
    n = int((end - start) / QUARTER_HOUR)
    return [start + i * QUARTER_HOUR for i in range(n)]


def delivery_day_of(instant: datetime, region: str) -> date:
    if instant.tzinfo is None:
        raise ValueError("instant must carry a time zone")
    return instant.astimezone(region_tz(region)).date()


def is_quarter_aligned(instant: datetime | time) -> bool:
    """On a quarter hour (:00, :15, :30, :45) with no seconds; an instant or a time of day."""
    return instant.second == 0 and instant.microsecond == 0 and instant.minute % 15 == 0


# ---------------------------------------------------------------- calendar buckets of any time zone

CALENDAR_STEPS = ("15m", "1h", "1d", "1mo")


def _local_floor(instant: datetime, tz: ZoneInfo, step: str) -> datetime:
    """The local start (aware, in ``tz``) of the ``step`` bucket that holds ``instant``."""
    local = instant.astimezone(tz)
    if step == "15m":
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    if step == "1h":
        return local.replace(minute=0, second=0, microsecond=0)
    if step == "1d":
        return datetime(local.year, local.month, local.day, tzinfo=tz)
    if step == "1mo":
        return datetime(local.year, local.month, 1, tzinfo=tz)
    raise ValueError(f"unknown calendar step {step!r} (one of {', '.join(CALENDAR_STEPS)})")


def _local_next(start: datetime, tz: ZoneInfo, step: str) -> datetime:
    """The local start of the bucket after the one starting at ``start``."""
    if step in ("15m", "1h"):  # wall-clock units that follow UTC: steps of real time
        return (start.astimezone(UTC) + (QUARTER_HOUR if step == "15m" else timedelta(hours=1))).astimezone(tz)
    if step == "1d":
        nxt = start.date() + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, 1, tzinfo=tz)


def calendar_buckets(start: datetime, end: datetime, tz: ZoneInfo, step: str) -> list[tuple[datetime, datetime]]:
    """The buckets of the local calendar of ``tz`` (quarter hours, hours, days or months) that overlap
    ``[start, end)``, as (local start, local end) aware datetimes in ``tz``: a day is 23, 24 or 25
    hours long, a month its local days. The first and last bucket may reach beyond the range."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone")
    out: list[tuple[datetime, datetime]] = []
    lo = _local_floor(start, tz, step)
    while lo.astimezone(UTC) < end:
        hi = _local_next(lo, tz, step)
        out.append((lo, hi))
        lo = hi
    return out
