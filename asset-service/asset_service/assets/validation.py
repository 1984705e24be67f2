"""Helpers for 422s in FastAPI's validation shape and for the ``asset_ids`` query parameter.

A rule that needs the database (e.g. unknown asset ids) still answers with the body FastAPI uses
for validation errors: ``{"detail": [{"loc": [...], "msg": "...", "type": "value_error", "input": ...}]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime

MAX_ASSET_IDS = 1000
MAX_ASSET_ID_LENGTH = 128


def check_text(value: str) -> str:
    """PostgreSQL text (and JSONB) takes neither NUL characters nor lone surrogates: refuse them (422), never a 500."""
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


def to_utc(value: datetime) -> datetime:
    """An aware datetime as UTC; one that has no UTC equivalent (year 1 at +14:00, ...) is a 422."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime is out of range") from None


Text = Annotated[str, AfterValidator(check_text)]
Instant = Annotated[AwareDatetime, AfterValidator(to_utc)]
AssetIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


def field_error(loc: Sequence[str | int], msg: str, input: Any = None) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": "value_error", "input": input}


def unprocessable(errors: Iterable[dict[str, Any]]) -> RequestValidationError:
    """Raise the result: the kernel's handler answers 422 with exactly these errors (the transaction rolls back)."""
    return RequestValidationError(list(errors))


def split_ids(values: Iterable[str]) -> list[str]:
    """Repeated and comma-separated values, stripped, empty parts dropped, first occurrence order kept."""
    seen: dict[str, None] = {}
    for raw in values:
        for part in raw.split(","):
            part = part.strip()
            if part:
                seen.setdefault(part, None)
    return list(seen)


def _asset_ids(
    asset_ids: Annotated[
        list[str],
        Query(
            min_length=1,
            description="One or more asset ids: repeat the parameter (`asset_ids=A&asset_ids=B`) or separate "
            f"them with commas (`asset_ids=A,B`); at most {MAX_ASSET_IDS} distinct ids.",
        ),
    ],
) -> list[str]:
    ids = split_ids(asset_ids)
    if not ids:
        raise unprocessable([field_error(["query", "asset_ids"], "asset_ids must name at least one asset id", "")])
    if len(ids) > MAX_ASSET_IDS:
        raise unprocessable(
            [field_error(["query", "asset_ids"], f"at most {MAX_ASSET_IDS} distinct asset ids", len(ids))]
        )
    too_long = [i for i in ids if len(i) > MAX_ASSET_ID_LENGTH]
    if too_long:
        raise unprocessable(
            field_error(["query", "asset_ids"], f"asset id longer than {MAX_ASSET_ID_LENGTH} characters", i)
            for i in too_long
        )
    if any("\x00" in i for i in ids):
        raise unprocessable([field_error(["query", "asset_ids"], "asset ids must not contain NUL characters", None)])
    return ids


AssetIdsQuery = Annotated[list[str], Depends(_asset_ids)]
