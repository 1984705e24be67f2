"""limit/offset pagination, with the seeds' bounds (limit 1..1000, default 50; offset >= 0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def _page(  # async: no worker-thread hop (see identity.current_identity)
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageParams = Annotated[Page, Depends(_page)]
