"""Wire shapes of job settings (seed 004 ``monitoring/job``)."""

from __future__ import annotations

from pydantic import Field

from gridcommons.wire import WireModel

from ..failures.schemas import JobType


class JobSetting(WireModel):
    """Whether a job type runs for the cluster."""

    type: JobType = Field(description="The job type.")
    isActive: bool = Field(description="Whether the job runs for the cluster.")
