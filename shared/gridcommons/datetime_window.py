"""Seed 004's time-window query parameters (``datetimeFrom``/``datetimeTo``): ISO 8601 date-times with an
offset, a bad value a 400 naming the parameter in the seed's wording (``bad param value : ...``), and the
window's bounds in UTC. Every service answering seed 004's staff and resident lists parses them here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .errors import DomainError
from .validation import to_utc

__all__ = ["Window", "bad_request", "parse_instant", "parse_window"]


def bad_request(text: str) -> DomainError:
    """A 400 with the seed's plain text (its clients read ``detail``)."""
    return DomainError(text, status_code=400)


_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def parse_instant(name: str, value: str | None) -> datetime | None:
    """An optional ISO 8601 date-time with an offset (``Z`` or ``±HH:MM``), in UTC; else a 400 naming it."""
    if value is None or value == "":
        return None
    if len(value) > 40 or not _DATETIME.match(value):
        raise bad_request(
            f"bad param value : {name} must be an ISO 8601 date-time with offset, e.g. 2020-01-01T00:00:00Z"
        )
    text = re.sub(r"(?<=[0-9]) (?=[0-9]{2}:?[0-9]{2}$)", "+", value)  # an unencoded "+" arrives as a space
    try:
        instant = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise bad_request(f"bad param value : {name} is not a valid date-time: {value[:40]!r}") from None
    if instant.tzinfo is None:
        raise bad_request(f"bad param value : {name} needs an offset (Z or ±HH:MM): {value[:40]!r}")
    try:
        return to_utc(instant)
    except ValueError:
        raise bad_request(f"bad param value : {name} must lie in [1900-01-01, 9999-01-01)") from None


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC; either bound may be open (None)."""

    start: datetime | None
    end: datetime | None


def parse_window(datetime_from: str | None, datetime_to: str | None) -> Window:
    start = parse_instant("datetimeFrom", datetime_from)
    end = parse_instant("datetimeTo", datetime_to)
    if start is not None and end is not None and end <= start:
        raise bad_request("“datetimeTo” should be greater than “datetimeFrom”")
    return Window(start, end)
