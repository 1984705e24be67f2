"""Wire shapes of failures (seed 004 ``monitoring/failure``): the seed's keys, in its order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from gridcommons.describe import explained_enum
from gridcommons.wire import WireModel

JOB_TYPE_MEANINGS = {
    "apis_main_alive": "apis-main of each available unit is alive (its `uri : ` lines, no thread blocked too long)",
    "apis_ccc_alive": "apis-ccc of the cluster is alive (its `reporting unit data` lines or fresh unit data)",
    "grid_master_alive": "the cluster's GridMaster is alive (`gridMasterUnitId : ` lines of any apis-main)",
    "apis_main_severe": "no SEVERE lines of apis-main of each available unit",
    "apis_ccc_severe": "no SEVERE lines of apis-ccc (GridMaster hand-over timeouts excepted)",
    "apis_log_severe": "no SEVERE lines of apis-log",
}


@explained_enum(JOB_TYPE_MEANINGS)
class JobType(StrEnum):
    """A monitoring job type (what it watches)."""

    apis_main_alive = "apis_main_alive"
    apis_ccc_alive = "apis_ccc_alive"
    grid_master_alive = "grid_master_alive"
    apis_main_severe = "apis_main_severe"
    apis_ccc_severe = "apis_ccc_severe"
    apis_log_severe = "apis_log_severe"


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
