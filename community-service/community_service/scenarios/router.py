from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from gridcommons.community import ResidentUnit, UnitRef, find_resident_unit, registry_lookup
from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed, responses
from gridcommons.identity import TenantDep, TenantIdentity, require_roles
from gridcommons.pagination import PageParams
from gridcommons.validation import SAFE_INTEGER_MAX

from . import service
from .schemas import (
    CreateScenarioRequest,
    DeviceUnitForm,
    DeviceUpdateForm,
    PatchScenarioRequest,
    ScenarioChoiceListResponse,
    ScenarioItem,
    ScenarioListResponse,
    ScenarioResponse,
    text_answers,
)

Staff = Annotated[TenantIdentity, require_roles("admin", "operator")]
ScenarioId = Annotated[int, Path(ge=1, le=SAFE_INTEGER_MAX, description="Id of the scenario.")]

admin_router = APIRouter(prefix="/api/community", tags=["scenarios"])
resident_router = APIRouter(prefix="/api/resident/scenario", tags=["resident scenarios"])
device_router = APIRouter(prefix="/api/misc/scenario", tags=["device scenarios"])

NOT_FOUND = responses((NotFound, "No such scenario in this company"))


def json_errors(documented: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """``responses(...)`` for an operation whose success answer is plain text: FastAPI would document the
    ``{"detail"}`` error bodies with the operation's text media type; they are JSON."""
    out: dict[int | str, dict[str, Any]] = {}
    for code, spec in documented.items():
        if "model" in spec:
            ref = {"$ref": f"#/components/schemas/{spec['model'].__name__}"}
            spec = {"description": spec["description"], "content": {"application/json": {"schema": ref}}}
        out[code] = spec
    return out


# The guard's answers (seed 004): missing or unknown codes, or a unit the caller is not linked to.
GUARD = responses(
    (DomainError, "`no param : communityId, clusterId, unitId` or `bad param values : ...`"),
    (Forbidden, "`not a resident`: the caller is not linked to the unit"),
)


# ----------------------------------------------------------------------------- staff
@admin_router.post(
    "/scenarios",
    status_code=status.HTTP_201_CREATED,
    response_model=ScenarioResponse,
    responses=responses((Conflict, "A scenario with this name exists in this scope"), ValidationFailed),
)
async def create_scenario(body: CreateScenarioRequest, session: SessionDep, who: Staff) -> ScenarioResponse:
    """Create a scenario for every unit of the company, a community, a cluster or one unit.

    The scope is given by codes (none, `communityId`, `communityId` + `clusterId`, or all three; any
    other combination, an unknown or retired record is a 422). `data` is checked (422 naming the first
    problem) and stored byte for byte."""
    return await service.create(session, who.company_id, body)


@admin_router.get("/scenarios", response_model=ScenarioListResponse)
async def list_scenarios(
    session: SessionDep,
    who: Staff,
    page: PageParams,
    community_id: Annotated[
        str | None,
        Query(alias="communityId", max_length=64, description="Only scenarios scoped to this community (or below it)."),
    ] = None,
    cluster_id: Annotated[
        str | None,
        Query(
            alias="clusterId", max_length=64, description="Only scenarios scoped to this cluster code (or below it)."
        ),
    ] = None,
    unit_id: Annotated[
        str | None, Query(alias="unitId", max_length=64, description="Only scenarios scoped to this unit code.")
    ] = None,
    include_retired: Annotated[
        bool, Query(description="Include retired scenarios (default: only those offered).")
    ] = False,
) -> ScenarioListResponse:
    """List the company's scenarios by name, optionally narrowed by scope codes."""
    return await service.list_scenarios(
        session, who.company_id, community_id, cluster_id, unit_id, include_retired, page
    )


@admin_router.get("/scenarios/{scenario_id}", response_model=ScenarioResponse, responses=NOT_FOUND)
async def get_scenario(scenario_id: ScenarioId, session: SessionDep, who: Staff) -> ScenarioResponse:
    """Return one scenario, retired or not."""
    return await service.get(session, who.company_id, scenario_id)


@admin_router.patch(
    "/scenarios/{scenario_id}",
    response_model=ScenarioResponse,
    responses=NOT_FOUND | responses((Conflict, "Another scenario has this name in the scope"), ValidationFailed),
)
async def patch_scenario(
    scenario_id: ScenarioId, body: PatchScenarioRequest, session: SessionDep, who: Staff
) -> ScenarioResponse:
    """Change a scenario's name, description or document (only the fields given).

    Units that run it get the new document at their next fetch. The scope cannot change."""
    return await service.patch(session, who.company_id, scenario_id, body)


@admin_router.post("/scenarios/{scenario_id}/retire", response_model=ScenarioResponse, responses=NOT_FOUND)
async def retire_scenario(scenario_id: ScenarioId, session: SessionDep, who: Staff) -> ScenarioResponse:
    """Stop offering a scenario to residents (idempotent).

    It leaves `availableList`; units whose current scenario it is keep running it until their resident
    chooses another. It stays readable here, and its name stays taken in its scope."""
    return await service.retire(session, who.company_id, scenario_id)


@admin_router.get(
    "/scenario-choices",
    response_model=ScenarioChoiceListResponse,
    responses=responses((NotFound, "No such unit in this company")),
)
async def list_scenario_choices(
    session: SessionDep,
    who: Staff,
    page: PageParams,
    community_id: Annotated[
        str, Query(alias="communityId", min_length=1, max_length=64, description="Code of the community.")
    ],
    cluster_id: Annotated[
        str, Query(alias="clusterId", min_length=1, max_length=64, description="Code of the cluster.")
    ],
    unit_id: Annotated[str, Query(alias="unitId", min_length=1, max_length=64, description="Code of the unit.")],
) -> ScenarioChoiceListResponse:
    """The scenario choices made for one unit, newest first (the first is its current scenario)."""
    return await service.unit_choices(session, who.company_id, community_id, cluster_id, unit_id, page)


# ----------------------------------------------------------------------------- residents (seed 004)
@resident_router.get("/availableList", response_model=list[ScenarioItem], responses=GUARD)
async def available_list(unit: ResidentUnit, session: SessionDep) -> list[ScenarioItem]:
    """The scenarios the unit may choose, by name: those of the whole company, of the unit's community,
    of its cluster and of the unit itself (retired ones excluded). `data` is the document as text."""
    return await service.available_list(session, unit)


@resident_router.get("/current", response_model=ScenarioItem | None, responses=GUARD)
async def current_scenario(unit: ResidentUnit, session: SessionDep) -> ScenarioItem | None:
    """The unit's current scenario (the newest choice), or JSON `null` when none is selected."""
    return await service.current(session, unit)


_CHOOSE_ANSWERS = {
    "ok": "The choice was recorded: the unit fetches the scenario (or, un-selected, its local file) next time.",
    "no change": "The scenario was already current (or, without scenarioId, nothing was selected).",
}
_SCENARIO_ID_Q = Query(
    alias="scenarioId",
    max_length=32,
    description="Id of a scenario of `availableList`; empty or absent un-selects the current scenario.",
)


async def _choose(
    unit: ResidentUnit, session: SessionDep, who: TenantDep, scenario_id: str | None
) -> PlainTextResponse:
    return PlainTextResponse(await service.choose(session, unit, who, scenario_id))


_CHOOSE_DOC = dict(
    response_class=PlainTextResponse,
    responses={
        200: {"description": "`ok` or `no change` (text)", "content": text_answers(_CHOOSE_ANSWERS)},
        **json_errors(
            responses(
                (DomainError, "`bad scenarioId : <value>` (not a scenario of availableList), or the guard's 400s"),
                (Forbidden, "`not a resident`: the caller is not linked to the unit"),
            )
        ),
    },
)


@resident_router.post("/choose", **_CHOOSE_DOC)  # type: ignore[arg-type]
async def choose_scenario(
    unit: ResidentUnit,
    session: SessionDep,
    who: TenantDep,
    scenario_id: Annotated[str | None, _SCENARIO_ID_Q] = None,
) -> PlainTextResponse:
    """Make a scenario of `availableList` the unit's current one (`scenarioId`), or un-select it (no
    `scenarioId`). Every change is recorded in the unit's history and published on
    `community.scenario-choice.v1`."""
    return await _choose(unit, session, who, scenario_id)


@resident_router.get("/choose", **_CHOOSE_DOC)  # type: ignore[arg-type]
async def choose_scenario_get(
    unit: ResidentUnit,
    session: SessionDep,
    who: TenantDep,
    scenario_id: Annotated[str | None, _SCENARIO_ID_Q] = None,
) -> PlainTextResponse:
    """The same as `POST /api/resident/scenario/choose`, kept for the clients of seed 004 that choose
    with a GET; new clients use the POST."""
    return await _choose(unit, session, who, scenario_id)


# ----------------------------------------------------------------------------- devices (seed 004 misc)
async def _device_unit(request: Request, session: SessionDep, who: TenantIdentity, form: DeviceUnitForm) -> UnitRef:
    return await find_resident_unit(
        session, registry_lookup(request), who, form.communityId, form.clusterId, form.unitId
    )


@device_router.post(
    "/currentData",
    response_class=Response,
    responses={
        200: {
            "description": "The current scenario's document, byte for byte (`application/json`); an empty "
            "`text/plain` body when the unit has no scenario selected (the device then runs its local scenario file).",
            "content": {
                "application/json": {"schema": {"type": "object", "description": "The scenario document."}},
                "text/plain": {"schema": {"type": "string", "maxLength": 0, "description": "Empty: no scenario."}},
            },
        },
        **GUARD,
    },
)
async def current_data(
    request: Request, session: SessionDep, who: TenantDep, form: Annotated[DeviceUnitForm, Form()]
) -> Response:
    """The document a unit's device runs: its current scenario's `data`, as stored. Form fields
    `communityId`, `clusterId`, `unitId` (with the device's `username`/`account` and `password`, which
    the gateway checks)."""
    unit = await _device_unit(request, session, who, form)
    data = await service.current_data(session, unit)
    if data is None:
        return Response(status_code=200, media_type="text/plain")
    return Response(content=data, media_type="application/json")


_UPDATE_ANSWERS = {
    "created": "The unit had no scenario of this name: it was created, scoped to the unit.",
    "updated": "The unit's scenario of this name was overwritten (and offered again if it was retired).",
}


@device_router.post(
    "/update",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "`created` or `updated` (text)", "content": text_answers(_UPDATE_ANSWERS)},
        **json_errors(GUARD),
        **json_errors(responses((DomainError, "`no param : name, data`, or the guard's 400s"), ValidationFailed)),
    },
)
async def update_scenario(
    request: Request, session: SessionDep, who: TenantDep, form: Annotated[DeviceUpdateForm, Form()]
) -> PlainTextResponse:
    """A device uploads the unit's own scenario (`name`, optional `description`, `data`): the unit's
    scenario of that name is overwritten, or created for exactly this unit. The document is checked
    (422 naming the first problem). The unit's current choice does not change."""
    unit = await _device_unit(request, session, who, form)
    return PlainTextResponse(await service.device_update(session, unit, form))
