"""Asset ids in requests, built from the kernel's ``gridcommons.validation``.

- ``AssetIdsQuery``: the ``asset_ids`` query parameter, repeated and/or comma-separated, 1..1000
  distinct ids of 1..128 characters without NUL (otherwise 422 at ``["query", "asset_ids"]``).
- ``AssetIdPath``: an asset id in the path (1..128 characters, no NUL).
- ``ASSET_ID_MAX`` / ``ASSET_ID_PATTERN``: the same rule for body fields.
- ``AssetIdField`` / ``AssetIdOut``: the ``asset_id`` field of request / response bodies;
  ``PeriodStartOut``, ``PeriodEndOut``, ``DeliveryDayOut``: a quarter-hour period in responses (one
  description each, shared by every period resource).
- ``Efficiency``: a decimal ratio in (0, 1] (the models check the range; the schema says it as a pattern).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Path
from pydantic import Field, WithJsonSchema

from gridcommons.quantity import DecimalAmount, decimal_schema
from gridcommons.validation import ids_query

MAX_ASSET_IDS = 1000
ASSET_ID_MAX = 128
ASSET_ID_PATTERN = r"^[^\x00]+$"  # PostgreSQL text cannot hold NUL: such an id is malformed, not unknown

AssetIdsQuery = Annotated[
    list[str],
    Depends(ids_query("asset_ids", noun="asset id", max_count=MAX_ASSET_IDS, max_length=ASSET_ID_MAX)),
]
EFFICIENCY_PATTERN = r"^(0\.(?=[0-9]*[1-9])[0-9]{1,18}|1(\.0{1,18})?)$"
Efficiency = Annotated[DecimalAmount, WithJsonSchema(decimal_schema(EFFICIENCY_PATTERN, "a ratio in (0, 1]", "0.95"))]
AssetIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ASSET_ID_MAX,
        pattern=ASSET_ID_PATTERN,
        description="Asset id as assigned by the platform (`<REGION>_<AREA>_<CODE>_<n>`, e.g. `DE_50HZ_WU_1`).",
    ),
]

ASSET_ID_TEXT = "Asset id, as assigned by the platform when the asset was created (`<REGION>_<AREA>_<CODE>_<n>`, e.g. `DE_50HZ_WU_1`)."
AssetIdField = Annotated[
    str,
    Field(
        description=ASSET_ID_TEXT,
        min_length=1,
        max_length=ASSET_ID_MAX,
        pattern=ASSET_ID_PATTERN,
        examples=["DE_50HZ_WU_1"],
    ),
]
AssetIdOut = Annotated[str, Field(description=ASSET_ID_TEXT, examples=["DE_50HZ_WU_1"])]
PeriodStartOut = Annotated[
    datetime,
    Field(
        description="Start of the 15-minute delivery period (ISO 8601 instant with offset, answered in UTC, aligned to a quarter hour).",
        examples=["2027-01-15T08:00:00Z"],
    ),
]
PeriodEndOut = Annotated[
    datetime,
    Field(
        description="End of the delivery period, exclusive: start_time + 15 minutes (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:15:00Z"],
    ),
]
DeliveryDayOut = Annotated[
    date,
    Field(
        description="Delivery day of the period: the local calendar date (of the asset's region: Europe/Berlin for DE, Europe/Warsaw for PL) on which start_time falls; derived by the server.",
        examples=["2027-01-15"],
    ),
]
