"""Helpers for the specs and sites domains: 422s in FastAPI's validation shape for rules that need
the database, and the ``asset_ids`` query parameter (repeated and/or comma-separated)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime

MAX_QUERY_ASSET_IDS = 1000


def error(loc: Sequence[str | int], msg: str, input: Any = None) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": "value_error", "input": input}


def unprocessable(*errors: dict[str, Any]) -> NoReturn:
    """Answer 422 with ``{"detail": [{"loc": [...], "msg": "...", "type": "value_error"}, ...]}``."""
    raise RequestValidationError(list(errors))


def _asset_ids(
    asset_ids: Annotated[
        list[str],
        Query(min_length=1, description="Asset ids: repeat the parameter and/or separate ids with commas."),
    ],
) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for raw in asset_ids:
        for part in raw.split(","):
            part = part.strip()
            if part and part not in seen:
                seen.add(part)
                ids.append(part)
    if not ids:
        unprocessable(error(["query", "asset_ids"], "asset_ids must name at least one asset", asset_ids))
    if len(ids) > MAX_QUERY_ASSET_IDS:
        unprocessable(error(["query", "asset_ids"], f"at most {MAX_QUERY_ASSET_IDS} asset ids per request"))
    if any(len(i) > 128 for i in ids):
        unprocessable(error(["query", "asset_ids"], "an asset id has at most 128 characters"))
    return ids


AssetIdsQuery = Annotated[list[str], Depends(_asset_ids)]


def _utc_in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime out of range") from None
    if not (MIN_YEAR <= utc.year <= MAX_YEAR):
        raise ValueError(f"datetime must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return utc


MIN_YEAR, MAX_YEAR = 1900, 9000
# A time-zone-aware instant, normalised to UTC, in a range where date arithmetic cannot overflow.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc_in_range)]
