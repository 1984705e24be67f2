"""Job endpoints of seed 004: ``/api/staff/monitoring/job/list``, ``job/activate`` and ``job/deactivate``
(GET as the seed documents, POST for new clients; guard: ``gridcommons.community.StaffCluster``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from gridcommons.community import StaffCluster
from gridcommons.db import SessionDep
from gridcommons.describe import explain_values
from gridcommons.errors import DomainError, Forbidden, responses

from ..failures.schemas import JOB_TYPE_MEANINGS
from ..settings import MonitoringSettings
from . import service
from .schemas import JobSetting

router = APIRouter(prefix="/api/staff/monitoring/job", tags=["monitoring (staff)"])

STAFF_ERRORS = responses(
    (DomainError, "Missing or unknown communityId/clusterId, `no param : type`, `unknown type : <type>`"),
    (Forbidden, "`staff required`: the caller is not an admin or operator of the company"),
)


def _json_errors(documented: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    # The success answer is text; the error bodies stay JSON ({"detail"}).
    out: dict[int | str, dict[str, Any]] = {}
    for code, spec in documented.items():
        if "model" in spec:
            ref = {"$ref": f"#/components/schemas/{spec['model'].__name__}"}
            spec = {"description": spec["description"], "content": {"application/json": {"schema": ref}}}
        out[code] = spec
    return out


_OK = {
    "description": "`ok` (text): the setting is recorded; it takes effect at the job's next pass.",
    "content": {"text/plain": {"schema": {"type": "string", "enum": ["ok"], "description": "The outcome."}}},
}
_SET_DOC: dict[str, Any] = dict(response_class=PlainTextResponse, responses={200: _OK, **_json_errors(STAFF_ERRORS)})

TypeQuery = Annotated[
    str | None,
    Query(
        description="The job type (one of the six).",
        max_length=64,
        json_schema_extra=explain_values(JOB_TYPE_MEANINGS),
    ),
]


def _settings(request: Request) -> MonitoringSettings:
    settings: MonitoringSettings = request.app.state.settings
    return settings


@router.get("/list", response_model=list[JobSetting], responses=STAFF_ERRORS)
async def job_list(request: Request, cluster: StaffCluster, session: SessionDep) -> list[dict[str, Any]]:
    """All six job types in a fixed order, each with whether it runs for the cluster (a cluster without
    a setting takes MONITORING_JOBS_ACTIVE_BY_DEFAULT, on by default)."""
    return await service.job_list(session, cluster, _settings(request))


async def _set(cluster: StaffCluster, session: SessionDep, job_type: str | None, active: bool) -> PlainTextResponse:
    await service.set_active(session, cluster, service.job_of(job_type), active)
    return PlainTextResponse("ok")


@router.post("/activate", **_SET_DOC)
async def job_activate(cluster: StaffCluster, session: SessionDep, type: TypeQuery = None) -> PlainTextResponse:
    """Run the job for the cluster from its next pass."""
    return await _set(cluster, session, type, True)


@router.post("/deactivate", **_SET_DOC)
async def job_deactivate(cluster: StaffCluster, session: SessionDep, type: TypeQuery = None) -> PlainTextResponse:
    """Stop the job for the cluster; its open failures of the cluster close (reason `job deactivated`,
    published on monitoring.failure.v1)."""
    return await _set(cluster, session, type, False)


@router.get("/activate", **_SET_DOC)
async def job_activate_get(cluster: StaffCluster, session: SessionDep, type: TypeQuery = None) -> PlainTextResponse:
    """The same as `POST .../job/activate`, kept for the clients of seed 004 that use a GET."""
    return await _set(cluster, session, type, True)


@router.get("/deactivate", **_SET_DOC)
async def job_deactivate_get(cluster: StaffCluster, session: SessionDep, type: TypeQuery = None) -> PlainTextResponse:
    """The same as `POST .../job/deactivate`, kept for the clients of seed 004 that use a GET."""
    return await _set(cluster, session, type, False)
