"""Wire shapes of seed 002 (assets)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


# Which delivery areas belong to which region (an asset in DE cannot sit in PSE).
REGION_AREAS: dict[Region, frozenset[DeliveryArea]] = {
    Region.DE: frozenset({DeliveryArea.HZ50, DeliveryArea.AMPN, DeliveryArea.TNBW, DeliveryArea.TNNT}),
    Region.PL: frozenset({DeliveryArea.PSE}),
}


class CreateAssetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=255)
    type: AssetType
    region: Region
    delivery_area: DeliveryArea
    provider: Provider

    @model_validator(mode="after")
    def _area_in_region(self) -> CreateAssetRequest:
        if self.delivery_area not in REGION_AREAS[self.region]:
            raise ValueError(f"delivery_area {self.delivery_area.value} is not in region {self.region.value}")
        return self


class AssetResponse(BaseModel):
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


class AssetListResponse(BaseModel):
    limit: int
    offset: int
    assets: list[AssetResponse]
