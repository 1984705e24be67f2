"""Request validation the services share: safe text, UTC instants, and 422s in FastAPI's validation shape.

- ``Text`` / ``check_text`` / ``check_json``: PostgreSQL text (and JSONB) takes neither NUL characters
  nor lone surrogates; such input is refused with a 422 instead of failing in the database (a 500).
- ``UtcInstant``: an instant with an explicit offset (naive date-times are refused), normalised to UTC
  and refused outside [1900-01-01, 9999-01-01) UTC, where date arithmetic cannot overflow.
- ``field_error`` / ``unprocessable``: a rule that needs the database (unknown ids, overlaps, ...) still
  answers with the body FastAPI uses for validation errors,
  ``{"detail": [{"loc": [...], "msg": "...", "type": "value_error", "input": ...}]}``:
  ``raise unprocessable([field_error(loc, msg, input), ...])`` (the kernel's handler answers 422).
- ``split_csv`` / ``ids_query``: query parameters given repeated (``?x=a&x=b``) and/or comma-separated
  (``?x=a,b``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime

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


UtcInstant = Annotated[AwareDatetime, AfterValidator(to_utc)]


def field_error(loc: Sequence[str | int], msg: str, input: Any = None) -> dict[str, Any]:
    """One entry of a 422 body in FastAPI's validation shape."""
    return {"loc": list(loc), "msg": msg, "type": "value_error", "input": input}


def unprocessable(errors: Iterable[dict[str, Any]]) -> RequestValidationError:
    """Raise the result: the kernel's handler answers 422 with exactly these errors (the transaction rolls back)."""
    return RequestValidationError(list(errors))


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


def ids_query(name: str, *, noun: str, max_count: int, max_length: int) -> Callable[..., list[str]]:
    """A FastAPI dependency for the required query parameter ``name``: one or more ids, repeated and/or
    comma-separated. After ``split_csv`` it needs at least one and at most ``max_count`` distinct ids, each
    at most ``max_length`` characters and without NUL; otherwise 422 with ``loc = ["query", name]``.

    Use it as ``Annotated[list[str], Depends(ids_query("asset_ids", noun="asset id", ...))]``.
    """
    loc = ["query", name]

    def dependency(values: list[str]) -> list[str]:
        ids = split_csv(values)
        if not ids:
            raise unprocessable([field_error(loc, f"{name} must name at least one {noun}", values)])
        if len(ids) > max_count:
            raise unprocessable([field_error(loc, f"at most {max_count} distinct {noun}s", len(ids))])
        too_long = [i for i in ids if len(i) > max_length]
        if too_long:
            raise unprocessable(field_error(loc, f"{noun} longer than {max_length} characters", i) for i in too_long)
        with_nul = [i for i in ids if "\x00" in i]
        if with_nul:
            raise unprocessable(field_error(loc, f"{noun}s must not contain NUL characters", i) for i in with_nul)
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
