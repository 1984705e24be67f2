"""Asset ids in requests, built from the kernel's ``gridcommons.validation``.

- ``AssetIdsQuery``: the ``asset_ids`` query parameter, repeated and/or comma-separated, 1..1000
  distinct ids of 1..128 characters without NUL (otherwise 422 at ``["query", "asset_ids"]``).
- ``AssetIdPath``: an asset id in the path (1..128 characters, no NUL).
- ``ASSET_ID_MAX`` / ``ASSET_ID_PATTERN``: the same rule for body fields.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from gridcommons.validation import ids_query

MAX_ASSET_IDS = 1000
ASSET_ID_MAX = 128
ASSET_ID_PATTERN = r"^[^\x00]+$"  # PostgreSQL text cannot hold NUL: such an id is malformed, not unknown

AssetIdsQuery = Annotated[
    list[str],
    Depends(ids_query("asset_ids", noun="asset id", max_count=MAX_ASSET_IDS, max_length=ASSET_ID_MAX)),
]
AssetIdPath = Annotated[str, Path(min_length=1, max_length=ASSET_ID_MAX, pattern=ASSET_ID_PATTERN)]
