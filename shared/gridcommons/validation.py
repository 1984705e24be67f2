"""Request validation the services share: safe text, UTC instants, and 422s in FastAPI's validation shape.

- ``Text`` / ``check_text`` / ``check_json``: PostgreSQL text (and JSONB) takes neither NUL characters
  nor lone surrogates; such input is refused with a 422 instead of failing in the database (a 500).
- ``UtcInstant``: an ISO 8601 date-time text with an explicit offset (naive date-times, numbers such as
  epoch seconds, and digits beyond the microsecond are refused), normalised to UTC and refused outside
  [1900-01-01, 9999-01-01) UTC, where date arithmetic cannot overflow.
- ``CalendarDate``: an ISO 8601 calendar date text (``YYYY-MM-DD``; numbers and date-times refused) in
  [1900-01-01, 2200-12-31], for dates of the real world (go-live dates, delivery days); ``IsoDate`` is
  the format rule alone (for fields with bounds of their own).
- ``JsonObject``: a free-form JSON object (e.g. status reason attributes), bounded: at most
  ``JSON_MAX_DEPTH`` nesting levels, ``JSON_MAX_KEYS`` keys per object, ``JSON_MAX_BYTES`` bytes
  serialised; text as ``Text``; only finite numbers.
- A rule that needs the database (unknown ids, overlaps, ...) raises ``gridcommons.errors.ValidationFailed``
  (``raise ValidationFailed([field_error(loc, msg, input), ...])`` or ``ValidationFailed.at(loc, msg, input)``):
  a 422 with the body FastAPI uses for validation errors over HTTP, a dead letter with the reason in a consumer.
- ``window_from(of)`` / ``window_to(of)``: the ``from``/``to`` query parameters of a time window on the
  column ``of`` (``Annotated[UtcInstant, window_from("start_time")]``), described once.
- ``split_csv`` / ``ids_query``: query parameters given repeated (``?x=a&x=b``) and/or comma-separated
  (``?x=a,b``).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from .errors import ValidationFailed, field_error

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_RANGE = "must lie in [1900-01-01, 9999-01-01) UTC"


def check_text(value: str) -> str:
    """Refuse (ValueError, a 422 in a model) NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def check_json(value: Any) -> Any:
    """``check_text`` over every key and string of a JSON value."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k)
            check_json(v)
    elif isinstance(value, list):
        for v in value:
            check_json(v)
    return value


Text = Annotated[str, AfterValidator(check_text)]


def to_utc(value: datetime) -> datetime:
    """An aware datetime as UTC, in [EARLIEST, LATEST); one without a UTC equivalent (year 1 at +14:00) is refused."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(_RANGE) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(_RANGE)
    return utc


# A date, a time of day (hours and minutes at least), then anything pydantic parses (seconds, fraction, offset).
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_FRACTION = re.compile(r"[.,]([0-9]+)")


def check_fraction_digits(value: str) -> str:
    """Refuse (ValueError) a time text with non-zero digits beyond the microsecond (the 7th fraction digit
    on): they would be dropped silently (``...00.000000001Z`` would read as ``...00Z``)."""
    m = _FRACTION.search(value)
    if m and m.group(1)[6:].strip("0"):
        raise ValueError("at most 6 fractional second digits (microseconds): finer instants cannot be kept")
    return value


def iso_instant_text(value: Any) -> Any:
    """Before-validator of ``UtcInstant``: only ISO 8601 date-time text (or a datetime object from code)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError("must be an ISO 8601 date-time with offset, e.g. 2026-05-01T08:00:00Z (not a number)")
    return check_fraction_digits(value)


UtcInstant = Annotated[AwareDatetime, BeforeValidator(iso_instant_text), AfterValidator(to_utc)]

# The largest integer a JavaScript client (Swagger UI, generated TypeScript SDKs) holds exactly: the bound
# of every id a client sends.
SAFE_INTEGER_MAX = 2**53 - 1

_INSTANT_EXAMPLE = "ISO 8601 instant with offset, e.g. 2027-01-15T00:00:00Z"


def window_from(of: str, note: str = "") -> Any:
    """The ``from`` query parameter of a half-open time window on ``of``: use as
    ``Annotated[UtcInstant, window_from("start_time")]``; ``note`` completes the description."""
    return Query(alias="from", description=f"Inclusive lower bound on {of} ({_INSTANT_EXAMPLE}){note}.")


def window_to(of: str, note: str = "") -> Any:
    """The ``to`` query parameter of a half-open time window on ``of`` (exclusive)."""
    return Query(description=f"Exclusive upper bound on {of} ({_INSTANT_EXAMPLE}){note}.")


# ---- calendar dates

DATE_EARLIEST = date(1900, 1, 1)
DATE_LATEST = date(2200, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be an ISO 8601 calendar date YYYY-MM-DD (not a number or a date-time)")
    return value


def _in_calendar_range(value: date) -> date:
    if not DATE_EARLIEST <= value <= DATE_LATEST:
        raise ValueError(f"must lie in [{DATE_EARLIEST.isoformat()}, {DATE_LATEST.isoformat()}]")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]  # the format rule alone: callers bound it themselves
CalendarDate = Annotated[date, BeforeValidator(_iso_date_text), AfterValidator(_in_calendar_range)]

# ---- free-form JSON

JSON_MAX_DEPTH = 8
JSON_MAX_KEYS = 64
JSON_MAX_BYTES = 16 * 1024


def check_json_value(value: Any, *, max_depth: int = JSON_MAX_DEPTH, max_keys: int = JSON_MAX_KEYS) -> Any:
    """A JSON value with text as ``check_text``, finite numbers only, at most ``max_depth`` nested
    containers and ``max_keys`` keys per object (ValueError otherwise)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            check_text(v)
        elif isinstance(v, bool) or v is None or isinstance(v, int):
            pass
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError("numbers must be finite (no NaN or Infinity)")
        elif isinstance(v, (dict, list)):
            if depth >= max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            if isinstance(v, dict):
                if len(v) > max_keys:
                    raise ValueError(f"an object has more than {max_keys} keys")
                for k, item in v.items():
                    if not isinstance(k, str):
                        raise ValueError("object keys must be strings")
                    check_text(k)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in v)
        else:
            raise ValueError(f"not a JSON value: {type(v).__name__}")
    return value


def check_json_object(value: dict[str, Any]) -> dict[str, Any]:
    """``check_json_value`` for an object, then at most ``JSON_MAX_BYTES`` of compact UTF-8 JSON."""
    check_json_value(value)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode())
    if size > JSON_MAX_BYTES:
        raise ValueError(f"larger than {JSON_MAX_BYTES} bytes serialised ({size})")
    return value


JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(check_json_object),
    Field(
        description=f"Free-form JSON object: at most {JSON_MAX_DEPTH} nesting levels, {JSON_MAX_KEYS} keys per "
        f"object, {JSON_MAX_BYTES} bytes serialised; finite numbers only (send large or precise decimals as strings)."
    ),
]


def split_csv(values: Iterable[str]) -> list[str]:
    """Repeated and/or comma-separated values, stripped, empty parts dropped, without duplicates, first seen first."""
    out: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                out.setdefault(part, None)
    return list(out)


# One value of an id-list query parameter: at least one id (not only commas or blanks), no NUL.
ID_LIST_ITEM_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"^[^\x00]*[^,\s\x00][^\x00]*$"}


def ids_query(name: str, *, noun: str, max_count: int, max_length: int) -> Callable[..., Awaitable[list[str]]]:
    """A FastAPI dependency for the required query parameter ``name``: one or more ids, repeated and/or
    comma-separated. After ``split_csv`` it needs at least one and at most ``max_count`` distinct ids, each
    at most ``max_length`` characters and without NUL; otherwise 422 with ``loc = ["query", name]``.

    Use it as ``Annotated[list[str], Depends(ids_query("asset_ids", noun="asset id", ...))]``.
    """
    loc = ["query", name]

    async def dependency(values: list[str]) -> list[str]:  # async: no worker-thread hop
        ids = split_csv(values)
        if not ids:
            raise ValidationFailed([field_error(loc, f"{name} must name at least one {noun}", values)])
        if len(ids) > max_count:
            raise ValidationFailed([field_error(loc, f"at most {max_count} distinct {noun}s", len(ids))])
        too_long = [i for i in ids if len(i) > max_length]
        if too_long:
            raise ValidationFailed(field_error(loc, f"{noun} longer than {max_length} characters", i) for i in too_long)
        with_nul = [i for i in ids if "\x00" in i]
        if with_nul:
            raise ValidationFailed(field_error(loc, f"{noun}s must not contain NUL characters", i) for i in with_nul)
        return ids

    query = Query(
        alias=name,
        min_length=1,
        json_schema_extra={"items": ID_LIST_ITEM_SCHEMA},
        description=f"One or more {noun}s: repeat the parameter (`{name}=A&{name}=B`) or separate them with "
        f"commas (`{name}=A,B`); at most {max_count} distinct ids.",
    )
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("values", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[list[str], query])],
        return_annotation=list[str],
    )
    return dependency
