"""Wire shapes of seed 002 (state snapshots)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from gridcommons.quantity import Energy, NonNegativeEnergy
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..periods import describe_duplicates, duplicates
from ..validation import ASSET_ID_MAX, ASSET_ID_PATTERN

MAX_BATCH = 10_000
# Request body limit of the batch upsert: MAX_BATCH snapshots at their largest (128-character ids,
# 38-digit amounts, microsecond instants with offsets) are ~3 MiB of compact JSON.
BODY_LIMIT = 4 * 1024 * 1024


class ReadingQuality(StrEnum):
    """How trustworthy a reported stored-energy value is (the seed names VALID; the rest complete it)."""

    VALID = "VALID"  # measured and plausible
    ESTIMATED = "ESTIMATED"  # estimated by the device or the provider (e.g. from a model)
    SUBSTITUTED = "SUBSTITUTED"  # replaced by a substitute value (gap filling, last known value)
    INVALID = "INVALID"  # known to be wrong: stored, returned, but never used to derive energy flows


class StateSnapshotIn(WireModel):
    asset_id: str = Field(min_length=1, max_length=ASSET_ID_MAX, pattern=ASSET_ID_PATTERN)
    effective_at: UtcInstant = Field(description="Instant the stored energy was observed.")
    stored_energy: NonNegativeEnergy = Field(
        description="Energy stored in the asset at effective_at (state of energy), MWh (>= 0)."
    )
    reading_quality: ReadingQuality = ReadingQuality.VALID


class UpsertStateSnapshotsRequest(WireModel):
    state_snapshots: list[StateSnapshotIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique_keys(self) -> UpsertStateSnapshotsRequest:
        dups = duplicates([(s.asset_id, s.effective_at) for s in self.state_snapshots])
        if dups:
            raise ValueError(describe_duplicates(dups, ("asset_id", "effective_at")))
        return self


class StateSnapshotOut(WireModel):
    asset_id: str
    effective_at: datetime
    stored_energy: Energy
    reading_quality: ReadingQuality
    created_at: datetime
    updated_at: datetime


class UpsertStateSnapshotsResponse(WireModel):
    state_snapshots: list[StateSnapshotOut]


class StateSnapshotRead(StateSnapshotOut):
    charged_energy: Energy | None = Field(
        description="Increase of stored energy since the asset's previous usable snapshot (MWh); null when "
        "there is no previous usable snapshot or this one is INVALID."
    )
    discharged_energy: Energy | None = Field(
        description="Decrease of stored energy since the asset's previous usable snapshot (MWh); null likewise."
    )


class StateSnapshotListResponse(WireModel):
    state_snapshots: list[StateSnapshotRead]
    limit: int
    offset: int
    total_charged_energy: Energy = Field(description="Sum of charged_energy over every matching snapshot (all pages).")
    total_discharged_energy: Energy = Field(
        description="Sum of discharged_energy over every matching snapshot (all pages)."
    )
