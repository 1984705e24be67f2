"""Query parameters shared by the monitoring endpoints: the seed's ``datetimeFrom``/``datetimeTo`` (a
bad value is a 400 naming it, as the seed's other errors) and the 400 helper."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Query

from gridcommons.errors import DomainError
from gridcommons.validation import to_utc


def bad_request(text: str) -> DomainError:
    return DomainError(text, status_code=400)


_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def parse_instant(name: str, value: str | None) -> datetime | None:
    """An optional ISO 8601 date-time with an offset (``Z`` or ``±HH:MM``); else a 400 naming it."""
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
    start: datetime | None
    end: datetime | None


def parse_window(datetime_from: str | None, datetime_to: str | None) -> Window:
    start = parse_instant("datetimeFrom", datetime_from)
    end = parse_instant("datetimeTo", datetime_to)
    if start is not None and end is not None and end <= start:
        raise bad_request("“datetimeTo” should be greater than “datetimeFrom”")
    return Window(start, end)


FromQuery = Annotated[
    str | None,
    Query(
        alias="datetimeFrom",
        description="Lower bound of the window: ISO 8601 date-time with offset, e.g. 2020-01-01T00:00:00Z.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="datetimeTo",
        description="Upper bound of the window (exclusive): ISO 8601 date-time with offset; after datetimeFrom.",
    ),
]
