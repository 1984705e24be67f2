"""Wire shapes of seed 002 (assets)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from gridcommons.describe import explained_enum
from gridcommons.validation import CalendarDate, Text
from gridcommons.wire import WireModel


@explained_enum(
    {
        "BESS": "Battery energy storage system: a physical battery at one grid connection",
        "VBAT": "Virtual battery: flexibility of several devices pooled and operated as one battery",
        "PV": "Photovoltaic (solar) generation plant",
        "DAA_SWAP": "Day-ahead-auction swap: a contractual position swapped on the day-ahead auction",
        "DAA_SWAP_VBAT": "Day-ahead-auction swap backed by a virtual battery",
        "GREY_COLOCATION": "Battery co-located with a site that may charge from the grid (grey power)",
        "GREEN_COLOCATION": "Battery co-located with renewable generation, charging from it only (green power)",
    }
)
class AssetType(StrEnum):
    """Kind of asset (seed 002's supported asset types)."""

    BESS = "BESS"
    VBAT = "VBAT"
    PV = "PV"
    DAA_SWAP = "DAA_SWAP"
    DAA_SWAP_VBAT = "DAA_SWAP_VBAT"
    GREY_COLOCATION = "GREY_COLOCATION"
    GREEN_COLOCATION = "GREEN_COLOCATION"


@explained_enum(
    {
        "DE": "Germany (delivery areas 50HZ, AMPN, TNBW, TNNT)",
        "PL": "Poland (delivery area PSE)",
    }
)
class Region(StrEnum):
    """Market region (country) of the asset; its delivery days and quarter hours follow the region's
    calendar (Europe/Berlin for DE, Europe/Warsaw for PL)."""

    DE = "DE"
    PL = "PL"


@explained_enum(
    {
        "50HZ": "50Hertz Transmission (DE): north and east of Germany",
        "AMPN": "Amprion (DE): west of Germany",
        "TNBW": "TransnetBW (DE): Baden-Württemberg",
        "TNNT": "TenneT TSO (DE): from Lower Saxony to Bavaria",
        "PSE": "Polskie Sieci Elektroenergetyczne (PL): all of Poland",
    }
)
class DeliveryArea(StrEnum):
    """Delivery area: the transmission system operator's control area the grid connection belongs to;
    it must lie in the region."""

    HZ50 = "50HZ"
    AMPN = "AMPN"
    TNBW = "TNBW"
    TNNT = "TNNT"
    PSE = "PSE"


@explained_enum(
    {
        "ENERGIEKOPPLER": "Energiekoppler: provider integration (seed 002)",
        "ENTELIOS": "Entelios: flexibility aggregator integration",
        "EBX": "EBX: provider integration (seed 002)",
        "TERRALAYR": "Terralayr: battery flexibility platform integration",
        "TRANSITION_TECHNOLOGIES": "Transition Technologies: provider integration (seed 002)",
        "ASSET_SIMULATOR": "The platform's asset simulator (test and demo assets, no real device)",
        "NFT": "NFT: provider integration (seed 002)",
    }
)
class Provider(StrEnum):
    """Energy market provider: the external party (integration) that operates or markets the asset and
    through which its telemetry and set-points flow."""

    ENERGIEKOPPLER = "ENERGIEKOPPLER"
    ENTELIOS = "ENTELIOS"
    EBX = "EBX"
    TERRALAYR = "TERRALAYR"
    TRANSITION_TECHNOLOGIES = "TRANSITION_TECHNOLOGIES"
    ASSET_SIMULATOR = "ASSET_SIMULATOR"
    NFT = "NFT"


@explained_enum(
    {
        "DRAFT": "Created, master data still editable; not operated (may be deleted)",
        "COMMISSIONING": "Being commissioned: connected and tested, not yet on the market",
        "LIVE": "In operation and marketed",
        "SUSPENDED": "Temporarily taken out of operation (resume makes it LIVE again)",
        "DECOMMISSIONED": "Permanently out of operation (may be deleted)",
    }
)
class AssetLifecycle(StrEnum):
    """Lifecycle state of an asset; it changes only through the lifecycle actions."""

    DRAFT = "DRAFT"
    COMMISSIONING = "COMMISSIONING"
    LIVE = "LIVE"
    SUSPENDED = "SUSPENDED"
    DECOMMISSIONED = "DECOMMISSIONED"


@explained_enum(
    {
        "commission": "DRAFT → COMMISSIONING",
        "go-live": "COMMISSIONING → LIVE",
        "suspend": "LIVE → SUSPENDED",
        "resume": "SUSPENDED → LIVE",
        "decommission": "LIVE → DECOMMISSIONED",
    }
)
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
    code: str = Field(
        description="Short code chosen by the company (1..32 letters, digits, `_`, `-`; starts with a letter or digit); part of the generated asset id.",
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        examples=["WU"],
    )
    name: Text = Field(
        description="Human-readable name of the asset (1..255 characters).",
        min_length=1,
        max_length=255,
        examples=["Wustermark battery storage"],
    )
    type: AssetType = Field(description="Kind of asset.")
    region: Region = Field(description="Market region (country) of the asset or site.")
    delivery_area: DeliveryArea = Field(
        description="Delivery area (TSO control area) of the grid connection; must belong to the region."
    )
    provider: Provider = Field(description="Provider operating or marketing the asset.")


class AssetResponse(WireModel):
    id: str = Field(
        description="Asset id generated by the platform: `<REGION>_<AREA>_<CODE>_<n>` (e.g. `DE_50HZ_WU_1`); never changes.",
        examples=["DE_50HZ_WU_1"],
    )
    code: str = Field(
        description="Short code chosen by the company (letters, digits, `_`, `-`); part of the generated id.",
        examples=["WU"],
    )
    name: str = Field(description="Human-readable name of the asset.", examples=["Wustermark battery storage"])
    type: AssetType = Field(description="Kind of asset.")
    region: Region = Field(description="Market region (country) of the asset or site.")
    delivery_area: DeliveryArea = Field(
        description="Delivery area (TSO control area) of the grid connection; must belong to the region."
    )
    lifecycle: AssetLifecycle = Field(description="Current lifecycle state (changed only by the lifecycle actions).")
    provider: Provider = Field(description="Provider operating or marketing the asset.")
    go_live_date: date | None = Field(
        description="Planned or actual go-live date (local calendar date of the region; null = not set).",
        examples=["2027-03-01"],
    )
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )


# Fields that form the asset id (``<REGION>_<AREA>_<CODE>_<n>``): fixed once the asset exists.
IMMUTABLE_FIELDS = ("id", "code", "region", "delivery_area")
# Patchable fields that are required attributes of an asset: ``null`` is refused, not "clear".
NON_NULLABLE_PATCH_FIELDS = ("name", "type", "provider")


class PatchAssetRequest(WireModel):
    """Partial update: omitted fields are left untouched; ``go_live_date: null`` clears the date;
    ``null`` for ``name``, ``type`` or ``provider`` is refused (422): an asset always has them."""

    # ``SkipJsonSchema[None]``: the schema does not offer null where the server refuses it.
    name: Text | SkipJsonSchema[None] = Field(
        description="New name (omit to keep; null is refused).",
        default=None,
        min_length=1,
        max_length=255,
        examples=["Wustermark battery storage 2"],
    )
    type: AssetType | SkipJsonSchema[None] = Field(
        default=None, description="New kind of asset (omit to keep; null is refused)."
    )
    go_live_date: CalendarDate | None = Field(
        default=None,
        description="New go-live date, local calendar date of the region (omit to keep, null to clear).",
        examples=["2027-03-01"],
    )
    provider: Provider | SkipJsonSchema[None] = Field(
        default=None, description="New provider (omit to keep; null is refused)."
    )

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
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    assets: list[AssetResponse] = Field(description="The assets of this page, ordered by id.")
