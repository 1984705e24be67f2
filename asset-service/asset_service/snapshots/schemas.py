"""Wire shapes of seed 002 (state snapshots)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.quantity import Energy, NonNegativeEnergy
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..periods import check_unique
from ..validation import AssetIdField, AssetIdOut

MAX_BATCH = 10_000
# Request body limit of the batch upsert: MAX_BATCH snapshots at their largest (128-character ids,
# 38-digit amounts, microsecond instants with offsets) are ~3 MiB of compact JSON.
BODY_LIMIT = 4 * 1024 * 1024


@explained_enum(
    {
        "VALID": "Measured and plausible",
        "ESTIMATED": "Estimated by the device or the provider (e.g. from a model)",
        "SUBSTITUTED": "Replaced by a substitute value (gap filling, last known value)",
        "INVALID": "Known to be wrong: stored, returned, but never used to derive energy flows",
    }
)
class ReadingQuality(StrEnum):
    """How trustworthy a reported stored-energy value is (the seed names VALID; the rest complete it)."""

    VALID = "VALID"
    ESTIMATED = "ESTIMATED"
    SUBSTITUTED = "SUBSTITUTED"
    INVALID = "INVALID"


class StateSnapshotIn(WireModel):
    asset_id: AssetIdField
    effective_at: UtcInstant = Field(
        description="Instant the stored energy was observed.", examples=["2027-01-15T08:00:00Z"]
    )
    stored_energy: NonNegativeEnergy = Field(
        description="Energy stored in the asset at effective_at (state of energy), MWh (>= 0).",
        examples=[{"amount": "5.25", "unit": "MWh"}],
    )
    reading_quality: ReadingQuality = Field(
        default=ReadingQuality.VALID, description="How trustworthy the reported value is.", examples=["VALID"]
    )


class UpsertStateSnapshotsRequest(WireModel):
    state_snapshots: list[StateSnapshotIn] = Field(
        description="Snapshots to insert or overwrite (1..10000; unique per asset_id and effective_at).",
        min_length=1,
        max_length=MAX_BATCH,
    )

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertStateSnapshotsRequest:
        check_unique([(s.asset_id, s.effective_at) for s in self.state_snapshots], ("asset_id", "effective_at"))
        return self


class StateSnapshotOut(WireModel):
    asset_id: AssetIdOut
    effective_at: datetime = Field(
        description="Instant from which the value holds (ISO 8601 instant with offset, answered in UTC).",
        examples=["2027-01-15T08:00:00Z"],
    )
    stored_energy: Energy = Field(description="Energy stored in the asset at effective_at, in MWh (>= 0).")
    reading_quality: ReadingQuality = Field(description="How trustworthy the reported value is.")
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )


class UpsertStateSnapshotsResponse(WireModel):
    state_snapshots: list[StateSnapshotOut] = Field(description="The stored snapshots, as they are now.")


class StateSnapshotRead(StateSnapshotOut):
    charged_energy: Energy | None = Field(
        description="Increase of stored energy since the asset's previous usable snapshot (MWh); null when "
        "there is no previous usable snapshot or this one is INVALID."
    )
    discharged_energy: Energy | None = Field(
        description="Decrease of stored energy since the asset's previous usable snapshot (MWh); null likewise."
    )


class StateSnapshotListResponse(WireModel):
    state_snapshots: list[StateSnapshotRead] = Field(
        description="Snapshots of this page, ordered by asset and effective_at."
    )
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    total_charged_energy: Energy = Field(description="Sum of charged_energy over every matching snapshot (all pages).")
    total_discharged_energy: Energy = Field(
        description="Sum of discharged_energy over every matching snapshot (all pages)."
    )
