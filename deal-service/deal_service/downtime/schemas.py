"""Wire shapes of downtime (seed 004 ``downtime``): the unit data sample the consumer reads from
``metering.unit-data.v1``, the downtime records of ``/api/staff/downtime/list`` and the availability
report of ``/api/staff/downtime/availability``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gridcommons.wire import WireModel

AUTONOMOUS = "autonomous"  # the one operation mode that counts as up


class UnitDataSample(BaseModel):
    """What the downtime consumer reads of a ``metering.unit-data.v1`` event's data (other fields ignored,
    so that metering-service may add some)."""

    model_config = ConfigDict(extra="ignore")

    unit_id: int = Field(gt=0)
    community_code: str = Field(min_length=1, max_length=64)
    cluster_code: str = Field(min_length=1, max_length=64)
    unit_code: str = Field(min_length=1, max_length=64)
    time: datetime
    operation_mode: str | None = None

    @property
    def down(self) -> bool:
        # The reference's rule: anything but "autonomous" (heteronomous, stop, manual, missing) is down.
        return self.operation_mode != AUTONOMOUS


class Downtime(WireModel):
    """A downtime of a unit, as the original answered it (unclipped)."""

    communityId: str = Field(description="Code of the community.", examples=["oss_community"])
    clusterId: str = Field(description="Code of the cluster.", examples=["oss_cluster"])
    unitId: str = Field(description="Code of the unit.", examples=["E001"])
    downDateTime: datetime = Field(
        description="When the unit went down (UTC): its first sample not `autonomous`, or the last sample before "
        "a data gap.",
        examples=["2019-12-31T15:07:20Z"],
    )
    recoveryDateTime: datetime | None = Field(
        description="When it came back (UTC): its next `autonomous` sample; null while it is down.",
        examples=["2019-12-31T15:12:20Z"],
    )


class UnitAvailability(WireModel):
    """One unit's availability over the window."""

    unitId: str = Field(description="Code of the unit.", examples=["E001"])
    availableFrom: datetime | None = Field(description="Start of the unit's availability (registry); null: always.")
    availableTo: datetime | None = Field(
        description="End of the unit's availability (registry, exclusive); null: open."
    )
    periodFrom: datetime = Field(
        description="Start of the judged period: the window clipped to the unit's availability."
    )
    periodTo: datetime = Field(description="End of the judged period (exclusive).")
    periodSeconds: float = Field(description="Length of the judged period, in seconds (0 when empty).", ge=0)
    reported: bool = Field(
        description="Whether the unit sent unit data before the period's end. A unit that never did is not judged: "
        "its downtime, available time and ratio are null (not 100 %) and it stays out of the cluster's totals."
    )
    downtimeSeconds: float | None = Field(description="Downtime within the period, in seconds.", ge=0)
    availableSeconds: float | None = Field(description="periodSeconds − downtimeSeconds.", ge=0)
    ratio: float | None = Field(
        description="availableSeconds / periodSeconds, in [0, 1]; null when not reported or the period is empty.",
        ge=0,
        le=1,
    )


class ClusterAvailability(WireModel):
    """The cluster's totals over the units judged (reported, with a period overlapping the window)."""

    units: int = Field(description="Units judged (N).", ge=0)
    unreportedUnits: int = Field(description="Units in the window that never reported (not judged).", ge=0)
    periodSeconds: float = Field(description="Σ periodSeconds of the judged units.", ge=0)
    downtimeSeconds: float = Field(description="Σ downtimeSeconds of the judged units.", ge=0)
    availableSeconds: float = Field(description="Σ availableSeconds of the judged units.", ge=0)
    averagePeriodSeconds: float | None = Field(description="periodSeconds / N; null when N = 0.", ge=0)
    averageAvailableSeconds: float | None = Field(description="availableSeconds / N; null when N = 0.", ge=0)
    averageDowntimeSeconds: float | None = Field(description="downtimeSeconds / N; null when N = 0.", ge=0)
    ratio: float | None = Field(
        description="availableSeconds / periodSeconds, in [0, 1]; null when no period (N = 0 or empty periods).",
        ge=0,
        le=1,
    )


class AvailabilityReport(WireModel):
    """Availability of a cluster's units over a window (what the original's AVAILABILITY page computed in
    the browser)."""

    communityId: str = Field(description="Code of the community.", examples=["oss_community"])
    clusterId: str = Field(description="Code of the cluster.", examples=["oss_cluster"])
    datetimeFrom: datetime = Field(description="Start of the window (UTC).")
    datetimeTo: datetime = Field(
        description="End of the window (UTC, exclusive), cut at the time of the answer: the future is not judged."
    )
    units: list[UnitAvailability] = Field(
        description="Units whose availability overlaps the window, by unit code (retired units until retirement)."
    )
    cluster: ClusterAvailability = Field(description="Totals and averages over the judged units.")
