"""Rules of scenarios: what a unit may choose, its current scenario, the devices' doors and the staff API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import UnitRef, user_id_of
from gridcommons.errors import Conflict, DomainError, NotFound, ValidationFailed
from gridcommons.identity import TenantIdentity
from gridcommons.pagination import Page

from . import events, repository
from .schemas import (
    CreateScenarioRequest,
    DeviceUpdateForm,
    PatchScenarioRequest,
    ScenarioChoiceListResponse,
    ScenarioChoiceResponse,
    ScenarioItem,
    ScenarioListResponse,
    ScenarioResponse,
)
from .validator import ScenarioInvalid, validate_scenario

OK = "ok"
NO_CHANGE = "no change"
CREATED = "created"
UPDATED = "updated"
_DIGITS = re.compile(r"[0-9]+")
_BIGINT_MAX = 2**63 - 1


def check_document(data: str, loc: Sequence[str | int]) -> None:
    """422 naming the first problem of a scenario document (its path inside the document follows ``loc``)."""
    try:
        validate_scenario(data)
    except ScenarioInvalid as exc:
        raise ValidationFailed.at([*loc, *exc.path], str(exc), type="scenario_invalid") from None


# ----------------------------------------------------------------------------- residents
async def available_list(session: AsyncSession, unit: UnitRef) -> list[ScenarioItem]:
    return [ScenarioItem.from_row(r) for r in await repository.available(session, unit)]


async def current(session: AsyncSession, unit: UnitRef) -> ScenarioItem | None:
    """The unit's current scenario (retired or not: the unit keeps running what it was given), or None."""
    row = await repository.current_scenario(session, unit.company_id, unit.unit_id)
    return None if row is None else ScenarioItem.from_row(row)


def _bad_scenario_id(raw: str) -> DomainError:
    return DomainError(f"bad scenarioId : {raw}", status_code=400)


async def choose(session: AsyncSession, unit: UnitRef, who: TenantIdentity, raw_scenario_id: str | None) -> str:
    """Seed 004's choose: a scenario id available to the unit becomes its current one (``ok``), the current
    one again is ``no change``; no id un-selects (``ok``, or ``no change`` when nothing was selected)."""
    scenario_id: int | None = None
    if raw_scenario_id:
        if not _DIGITS.fullmatch(raw_scenario_id) or int(raw_scenario_id) > _BIGINT_MAX:
            raise _bad_scenario_id(raw_scenario_id)
        scenario_id = int(raw_scenario_id)
    await repository.lock_unit_choices(session, unit.unit_id)
    now = await repository.current_scenario_id(session, unit.company_id, unit.unit_id)
    if scenario_id == now:
        return NO_CHANGE
    if scenario_id is not None and not await repository.is_available(session, unit, scenario_id):
        raise _bad_scenario_id(str(raw_scenario_id))
    chosen_by = user_id_of(who)
    choice = await repository.insert_choice(session, unit.company_id, unit.unit_id, scenario_id, chosen_by)
    await events.scenario_chosen(session, unit, scenario_id, chosen_by, choice["created_at"])
    return OK


# ----------------------------------------------------------------------------- devices
async def current_data(session: AsyncSession, unit: UnitRef) -> str | None:
    """The document of the unit's current scenario; None when none is selected (the device then runs
    its local scenario file)."""
    return await repository.current_data(session, unit.company_id, unit.unit_id) or None


async def device_update(session: AsyncSession, unit: UnitRef, form: DeviceUpdateForm) -> str:
    """The unit's own scenario named ``name`` (scoped to exactly this unit): overwritten (``updated``) or
    created (``created``). The unit's choice does not change."""
    if not form.name or not form.data:
        raise DomainError("no param : name, data", status_code=400)
    check_document(form.data, ["body", "data"])
    row = await repository.lock_by_scope_name(
        session, unit.company_id, unit.community_id, unit.cluster_id, unit.unit_id, form.name
    )
    if row is not None:
        values: dict[str, Any] = {"data": form.data, "retired_at": None}
        if form.description is not None:
            values["description"] = form.description
        await repository.update_scenario(session, unit.company_id, row["id"], values)
        return UPDATED
    await repository.insert_scenario(
        session,
        {
            "company_id": unit.company_id,
            "community_id": unit.community_id,
            "cluster_id": unit.cluster_id,
            "unit_id": unit.unit_id,
            "name": form.name,
            "description": form.description or "",
            "data": form.data,
        },
    )
    return CREATED


# ----------------------------------------------------------------------------- staff
_SCOPE_FIELDS = ("communityId", "clusterId", "unitId")


async def _scope(session: AsyncSession, company_id: int, body: CreateScenarioRequest) -> dict[str, int | None]:
    """Internal ids of the scope named by codes: one of the four patterns, records known and not retired."""
    codes = (body.communityId, body.clusterId, body.unitId)
    given = [c is not None for c in codes]
    if given not in ([False] * 3, [True, False, False], [True, True, False], [True] * 3):
        missing = _SCOPE_FIELDS[given.index(False)]
        field = _SCOPE_FIELDS[len(given) - 1 - given[::-1].index(True)]
        raise ValidationFailed.at(["body", field], f"{field} needs {missing}", codes[_SCOPE_FIELDS.index(field)])
    if body.communityId is None:
        return {"community_id": None, "cluster_id": None, "unit_id": None}
    found = await repository.scope_ids(session, company_id, body.communityId, body.clusterId, body.unitId)
    deepest = _SCOPE_FIELDS[sum(given) - 1]
    if found is None:
        names = ", ".join(_SCOPE_FIELDS[: sum(given)])
        raise ValidationFailed.at(["body", deepest], f"no such record: {names}", codes[sum(given) - 1])
    for level, field in (("community", "communityId"), ("cluster", "clusterId"), ("unit", "unitId")):
        if found.get(f"{level}_retired") is not None:
            raise ValidationFailed.at(["body", field], f"the {level} is retired", codes[_SCOPE_FIELDS.index(field)])
    return {k: found.get(k) for k in ("community_id", "cluster_id", "unit_id")}


def _name_conflict(name: str) -> Conflict:
    return Conflict(f"a scenario named {name!r} already exists in this scope (retired ones included)")


async def _get(session: AsyncSession, company_id: int, scenario_id: int) -> ScenarioResponse:
    row = await repository.get(session, company_id, scenario_id)
    if row is None:
        raise NotFound(f"Scenario {scenario_id} not found")
    return ScenarioResponse.from_row(row)


async def create(session: AsyncSession, company_id: int, body: CreateScenarioRequest) -> ScenarioResponse:
    scope = await _scope(session, company_id, body)
    check_document(body.data, ["body", "data"])
    if await repository.name_taken(session, company_id, scope, body.name):
        raise _name_conflict(body.name)
    scenario_id = await repository.insert_scenario(
        session,
        {"company_id": company_id, **scope, "name": body.name, "description": body.description, "data": body.data},
    )
    return await _get(session, company_id, scenario_id)


async def get(session: AsyncSession, company_id: int, scenario_id: int) -> ScenarioResponse:
    return await _get(session, company_id, scenario_id)


async def list_scenarios(
    session: AsyncSession,
    company_id: int,
    community: str | None,
    cluster: str | None,
    unit: str | None,
    include_retired: bool,
    page: Page,
) -> ScenarioListResponse:
    rows = await repository.list_scenarios(
        session,
        company_id,
        community=community,
        cluster=cluster,
        unit=unit,
        include_retired=include_retired,
        limit=page.limit,
        offset=page.offset,
    )
    return ScenarioListResponse(
        limit=page.limit, offset=page.offset, scenarios=[ScenarioResponse.from_row(r) for r in rows]
    )


async def patch(
    session: AsyncSession, company_id: int, scenario_id: int, body: PatchScenarioRequest
) -> ScenarioResponse:
    """Applies the fields given; a patch that changes nothing leaves ``updated_at`` alone."""
    row = await repository.lock(session, company_id, scenario_id)
    if row is None:
        raise NotFound(f"Scenario {scenario_id} not found")
    given = body.model_dump(exclude_unset=True)
    for field in ("name", "data"):
        if field in given and given[field] is None:
            raise ValidationFailed.at(["body", field], f"{field} cannot be null", None)
    if given.get("description", "") is None:
        given["description"] = ""
    changes = {k: v for k, v in given.items() if row[k] != v}
    if "data" in changes:
        check_document(changes["data"], ["body", "data"])
    if "name" in changes and await repository.name_taken(session, company_id, row, changes["name"], scenario_id):
        raise _name_conflict(changes["name"])
    if changes:
        await repository.update_scenario(session, company_id, scenario_id, changes)
    return await _get(session, company_id, scenario_id)


async def retire(session: AsyncSession, company_id: int, scenario_id: int) -> ScenarioResponse:
    """No longer offered to residents (idempotent); units that run it keep it until their resident
    chooses another."""
    if await repository.lock(session, company_id, scenario_id) is None:
        raise NotFound(f"Scenario {scenario_id} not found")
    await repository.retire(session, company_id, scenario_id)
    return await _get(session, company_id, scenario_id)


async def unit_choices(
    session: AsyncSession, company_id: int, community: str, cluster: str, unit: str, page: Page
) -> ScenarioChoiceListResponse:
    unit_id = await repository.unit_id_of(session, company_id, community, cluster, unit)
    if unit_id is None:
        raise NotFound(f"Unit {community}/{cluster}/{unit} not found")
    rows = await repository.choices(session, company_id, unit_id, page.limit, page.offset)
    return ScenarioChoiceListResponse(
        limit=page.limit, offset=page.offset, choices=[ScenarioChoiceResponse.from_row(r) for r in rows]
    )
