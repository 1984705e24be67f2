"""Wire shapes of seed 002 (assets)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from gridcommons.validation import CalendarDate, Text
from gridcommons.wire import WireModel


class AssetType(StrEnum):
    BESS = "BESS"
    VBAT = "VBAT"
    PV = "PV"
    DAA_SWAP = "DAA_SWAP"
    DAA_SWAP_VBAT = "DAA_SWAP_VBAT"
    GREY_COLOCATION = "GREY_COLOCATION"
    GREEN_COLOCATION = "GREEN_COLOCATION"


class Region(StrEnum):
    DE = "DE"
    PL = "PL"


class DeliveryArea(StrEnum):
    HZ50 = "50HZ"
    AMPN = "AMPN"
    TNBW = "TNBW"
    TNNT = "TNNT"
    PSE = "PSE"


class Provider(StrEnum):
    ENERGIEKOPPLER = "ENERGIEKOPPLER"
    ENTELIOS = "ENTELIOS"
    EBX = "EBX"
    TERRALAYR = "TERRALAYR"
    TRANSITION_TECHNOLOGIES = "TRANSITION_TECHNOLOGIES"
    ASSET_SIMULATOR = "ASSET_SIMULATOR"
    NFT = "NFT"


class AssetLifecycle(StrEnum):
    DRAFT = "DRAFT"
    COMMISSIONING = "COMMISSIONING"
    LIVE = "LIVE"
    SUSPENDED = "SUSPENDED"
    DECOMMISSIONED = "DECOMMISSIONED"


class LifecycleAction(StrEnum):
    """The seed's lifecycle transitions, one per action (path segment of the actions endpoint)."""

    COMMISSION = "commission"
    GO_LIVE = "go-live"
    SUSPEND = "suspend"
    RESUME = "resume"
    DECOMMISSION = "decommission"


# action -> (required current lifecycle, new lifecycle): exactly the adjacent transitions of the seed.
TRANSITIONS: dict[LifecycleAction, tuple[AssetLifecycle, AssetLifecycle]] = {
    LifecycleAction.COMMISSION: (AssetLifecycle.DRAFT, AssetLifecycle.COMMISSIONING),
    LifecycleAction.GO_LIVE: (AssetLifecycle.COMMISSIONING, AssetLifecycle.LIVE),
    LifecycleAction.SUSPEND: (AssetLifecycle.LIVE, AssetLifecycle.SUSPENDED),
    LifecycleAction.RESUME: (AssetLifecycle.SUSPENDED, AssetLifecycle.LIVE),
    LifecycleAction.DECOMMISSION: (AssetLifecycle.LIVE, AssetLifecycle.DECOMMISSIONED),
}

# Lifecycles in which an asset may be deleted.
DELETABLE = (AssetLifecycle.DRAFT, AssetLifecycle.DECOMMISSIONED)


class CreateAssetRequest(WireModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: Text = Field(min_length=1, max_length=255)
    type: AssetType
    region: Region
    delivery_area: DeliveryArea
    provider: Provider


class AssetResponse(WireModel):
    id: str
    code: str
    name: str
    type: AssetType
    region: Region
    delivery_area: DeliveryArea
    lifecycle: AssetLifecycle
    provider: Provider
    go_live_date: date | None
    created_at: datetime
    updated_at: datetime


# Fields that form the asset id (``<REGION>_<AREA>_<CODE>_<n>``): fixed once the asset exists.
IMMUTABLE_FIELDS = ("id", "code", "region", "delivery_area")
# Patchable fields that are required attributes of an asset: ``null`` is refused, not "clear".
NON_NULLABLE_PATCH_FIELDS = ("name", "type", "provider")


class PatchAssetRequest(WireModel):
    """Partial update: omitted fields are left untouched; ``go_live_date: null`` clears the date;
    ``null`` for ``name``, ``type`` or ``provider`` is refused (422): an asset always has them."""

    # ``SkipJsonSchema[None]``: the schema does not offer null where the server refuses it.
    name: Text | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=255)
    type: AssetType | SkipJsonSchema[None] = None
    go_live_date: CalendarDate | None = None
    provider: Provider | SkipJsonSchema[None] = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_fixed_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fixed = [k for k in IMMUTABLE_FIELDS if k in data]
            if fixed:
                raise ValueError(f"{', '.join(fixed)} cannot be changed: they form the asset id")
            if "lifecycle" in data:
                raise ValueError(
                    "lifecycle cannot be patched: use POST /api/assets/{asset_id}/actions/"
                    "{commission|go-live|suspend|resume|decommission}"
                )
            nulls = [k for k in NON_NULLABLE_PATCH_FIELDS if k in data and data[k] is None]
            if nulls:
                raise ValueError(f"{', '.join(nulls)} cannot be null (omit a field to leave it unchanged)")
        return data


class AssetListResponse(WireModel):
    limit: int
    offset: int
    assets: list[AssetResponse]
