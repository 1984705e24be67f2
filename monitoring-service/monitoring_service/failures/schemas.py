"""Wire shapes of failures (seed 004 ``monitoring/failure``): the seed's keys, in its order."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from gridcommons.wire import WireModel

from .events import JobType


class Failure(WireModel):
    """A failure of a cluster, as the staff lists answer it."""

    id: int = Field(description="Id of the failure.")
    type: JobType = Field(description="The job type that detected it.")
    community_id: str = Field(description="Code of the community.")
    cluster_id: str = Field(description="Code of the cluster.")
    program_id: str | None = Field(description="The program it is about (apis-main, apis-ccc, apis-log), if any.")
    unit_id: str | None = Field(description="Code of the unit it is about (per-unit jobs), else null.")
    detected: datetime = Field(description="When it was opened (UTC).")
    closed: datetime | None = Field(description="When it was closed (UTC); null while open.")
    description: str = Field(description="What the job found.")
