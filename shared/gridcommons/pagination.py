"""limit/offset pagination, with the seeds' bounds (limit 1..1000, default 50; offset >= 0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

LIMIT_TEXT = "Page size: at most this many items are returned (1..1000, default 50)."
OFFSET_TEXT = "Number of items to skip, in the listing's order (0 = first page); the next page is offset + limit."


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def _page(  # async: no worker-thread hop (see identity.current_identity)
    limit: Annotated[int, Query(ge=1, le=1000, description=LIMIT_TEXT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647, description=OFFSET_TEXT)] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageParams = Annotated[Page, Depends(_page)]
