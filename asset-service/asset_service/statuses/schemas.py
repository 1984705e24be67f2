"""Wire shapes of asset statuses (seed 002 ``StatusListResponse`` / ``AssetStatusEntry``) and the ingestion batch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.validation import JsonObject, Text, UtcInstant
from gridcommons.wire import WireModel

MAX_BATCH = 1000
MAX_REASONS = 20


class AssetStatus(StrEnum):
    """Operational status of an asset (the seed shows ``UNKNOWN``; the rest completes the set)."""

    UNKNOWN = "UNKNOWN"  # nothing reliable is known (e.g. no telemetry yet)
    AVAILABLE = "AVAILABLE"  # fully available to the market
    LIMITED = "LIMITED"  # available with reduced power or energy (derated)
    UNAVAILABLE = "UNAVAILABLE"  # reachable but cannot be dispatched (fault, maintenance, ...)
    OFFLINE = "OFFLINE"  # not reachable (no communication)


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
    category: ReasonCategory
    detail: Text | None = Field(default=None, max_length=2000)
    source: Text | None = Field(default=None, max_length=255)
    attributes: JsonObject = Field(default_factory=dict, max_length=50)


class StatusInput(WireModel):
    """One status change of one asset, effective from ``effective_at``."""

    asset_id: Text = Field(min_length=1, max_length=128)
    status: AssetStatus
    effective_at: UtcInstant
    reasons: list[StatusReason] = Field(default_factory=list, max_length=MAX_REASONS)


class IngestStatusesRequest(WireModel):
    """Body of ``POST /api/ingest/asset-statuses`` and payload of ``ingest.asset-statuses.v1``."""

    statuses: list[StatusInput] = Field(min_length=1, max_length=MAX_BATCH)

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
    asset_id: str
    status: AssetStatus
    effective_at: datetime
    reasons: list[StatusReason]
    created_at: datetime


class StatusQuery(WireModel):
    """The filter of ``GET /api/asset-statuses`` (the page comes apart, as ``gridcommons.pagination.Page``)."""

    asset_ids: list[str]
    latest: bool = False
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[AssetStatus] | None = None


class StatusListResponse(WireModel):
    limit: int
    offset: int
    statuses: list[AssetStatusEntry]
