"""Wire shapes of asset statuses (seed 002 ``StatusListResponse`` / ``AssetStatusEntry``) and the ingestion batch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.validation import JsonObject, Text, UtcInstant
from gridcommons.wire import WireModel

from ..validation import AssetIdOut

MAX_BATCH = 1000
MAX_REASONS = 20


@explained_enum(
    {
        "UNKNOWN": "Nothing reliable is known (e.g. no telemetry yet)",
        "AVAILABLE": "Fully available to the market",
        "LIMITED": "Available with reduced power or energy (derated)",
        "UNAVAILABLE": "Reachable but cannot be dispatched (fault, maintenance, ...)",
        "OFFLINE": "Not reachable (no communication)",
    }
)
class AssetStatus(StrEnum):
    """Operational status of an asset (the seed shows ``UNKNOWN``; the rest completes the set)."""

    UNKNOWN = "UNKNOWN"
    AVAILABLE = "AVAILABLE"
    LIMITED = "LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    OFFLINE = "OFFLINE"


@explained_enum(
    {
        "UNKNOWN": "The reason is not known",
        "MAINTENANCE": "Planned maintenance or inspection",
        "OUTAGE": "Unplanned technical failure of the asset or its equipment",
        "GRID_CONSTRAINT": "Restricted by the grid operator (curtailment, connection limit)",
        "MARKET": "Commercial decision (e.g. not offered to the market)",
        "COMMUNICATION": "Communication with the asset or its provider is lost or degraded",
        "WEATHER": "Weather conditions (e.g. no sun for PV, temperature derating)",
        "SAFETY": "Safety measure (protection trip, fire, hazard)",
        "OTHER": "Another reason, given in detail",
    }
)
class ReasonCategory(StrEnum):
    """Why an asset has its status (the seed shows ``UNKNOWN``; the rest completes the set)."""

    UNKNOWN = "UNKNOWN"
    MAINTENANCE = "MAINTENANCE"
    OUTAGE = "OUTAGE"
    GRID_CONSTRAINT = "GRID_CONSTRAINT"
    MARKET = "MARKET"
    COMMUNICATION = "COMMUNICATION"
    WEATHER = "WEATHER"
    SAFETY = "SAFETY"
    OTHER = "OTHER"


class StatusReason(WireModel):
    category: ReasonCategory = Field(description="Category of the reason.", examples=["MAINTENANCE"])
    detail: Text | None = Field(
        description="Free text explaining the reason (up to 2000 characters).",
        default=None,
        max_length=2000,
        examples=["One of two battery strings is serviced"],
    )
    source: Text | None = Field(
        description="Who or what reported the reason (e.g. a provider's system; up to 255 characters).",
        default=None,
        max_length=255,
        examples=["ENERGIEKOPPLER"],
    )
    attributes: JsonObject = Field(default_factory=dict, max_length=50, examples=[{"ticket": "OPS-1234"}])


class StatusInput(WireModel):
    """One status change of one asset, effective from ``effective_at``."""

    asset_id: Text = Field(
        description="Asset id, as assigned by the platform when the asset was created (`<REGION>_<AREA>_<CODE>_<n>`, e.g. `DE_50HZ_WU_1`).",
        min_length=1,
        max_length=128,
        examples=["DE_50HZ_WU_1"],
    )
    status: AssetStatus = Field(
        description="Operational status of the asset from effective_at on.", examples=["LIMITED"]
    )
    effective_at: UtcInstant = Field(
        description="Instant from which the status holds (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:00:00Z"],
    )
    reasons: list[StatusReason] = Field(
        description="Why the asset has this status (0..20 reasons).", default_factory=list, max_length=MAX_REASONS
    )


class IngestStatusesRequest(WireModel):
    """Body of ``POST /api/ingest/asset-statuses`` and payload of ``ingest.asset-statuses.v1``."""

    statuses: list[StatusInput] = Field(
        description="Status changes to store (1..1000).", min_length=1, max_length=MAX_BATCH
    )

    @model_validator(mode="after")
    def _unique_keys(self) -> IngestStatusesRequest:
        first: dict[tuple[str, datetime], int] = {}
        dups: list[str] = []
        for i, s in enumerate(self.statuses):
            key = (s.asset_id, s.effective_at)  # aware datetimes compare as instants
            if key in first:
                dups.append(
                    f"statuses[{i}] repeats statuses[{first[key]}] ({s.asset_id} at {s.effective_at.isoformat()})"
                )
            else:
                first[key] = i
        if dups:
            raise ValueError("duplicate (asset_id, effective_at) in the batch: " + "; ".join(dups))
        return self


class IngestStatusesResponse(WireModel):
    received: int = Field(description="Status entries in the batch")
    changed: int = Field(description="Entries that were new or changed an existing entry (each published an event)")


class AssetStatusEntry(WireModel):
    asset_id: AssetIdOut
    status: AssetStatus = Field(description="Operational status of the asset from effective_at on.")
    effective_at: datetime = Field(
        description="Instant from which the value holds (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:00:00Z"],
    )
    reasons: list[StatusReason] = Field(description="Why the asset has this status (may be empty).")
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )


class StatusQuery(WireModel):
    """The filter of ``GET /api/asset-statuses`` (the page comes apart, as ``gridcommons.pagination.Page``)."""

    asset_ids: list[str]
    latest: bool = False
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[AssetStatus] | None = None


class StatusListResponse(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    statuses: list[AssetStatusEntry] = Field(
        description="Status changes of this page, ordered by asset and effective_at."
    )
