"""Wire shapes of scenarios: the resident and device shapes of seed 004, and the staff API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from gridcommons.wire import WireModel

from .examples import HIGH_PRIORITY

NAME_MAX = 255
DESCRIPTION_MAX = 4096
DATA_MAX = 262_144  # a scenario is a few kB; the largest real ones are well below 256 kB

_CODE = "Code of the {what} (as devices address it); null when the scenario is not limited to one {what}."
_DATA = (
    "The scenario: a JSON document as text, stored and served byte for byte (comments under `#` keys "
    "may repeat). Checked before it is stored: time windows `HH:MM:SS-HH:MM:SS`, `batteryStatus`, "
    "`request`, `accept`, `acceptSelection.strategy`, `refreshingPeriodMsec` (422 naming the first problem)."
)


class ScenarioItem(WireModel):
    """A scenario as residents see it (seed 004): its scope by codes and its document as text."""

    id: int = Field(description="Id of the scenario (what `choose` takes as `scenarioId`).")
    community_id: str | None = Field(description=_CODE.format(what="community"))
    cluster_id: str | None = Field(description=_CODE.format(what="cluster"))
    unit_id: str | None = Field(description=_CODE.format(what="unit"))
    created: datetime = Field(description="When the scenario was created (UTC).")
    name: str = Field(description="Name, unique within its scope.")
    description: str = Field(description="What the scenario does, for residents choosing one (may be empty).")
    data: str = Field(description="The scenario document (JSON text, not parsed).")


class ScenarioResponse(ScenarioItem):
    """A scenario as staff manage it: the resident shape, when it last changed and whether it is retired."""

    updated_at: datetime = Field(description="When the name, description or document last changed (UTC).")
    retired_at: datetime | None = Field(
        description="When the scenario was retired (no longer offered to residents); null while offered."
    )


class ScenarioListResponse(WireModel):
    limit: int = Field(description="The page size applied.")
    offset: int = Field(description="The offset applied.")
    scenarios: list[ScenarioResponse] = Field(description="The scenarios, ordered by name then id.")


class CreateScenarioRequest(WireModel):
    """A new scenario. Its scope, by codes: none (every unit of the company), `communityId` (its
    units), `communityId` + `clusterId` (the cluster's units) or all three (that unit only); any other
    combination is a 422."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "communityId": "oss_community",
                    "clusterId": "oss_cluster",
                    "name": "HIGH_PRIORITY",
                    "description": "Low rsoc, High priority",
                    "data": HIGH_PRIORITY,
                }
            ]
        }
    )

    communityId: str | None = Field(
        default=None, min_length=1, max_length=64, description="Code of the community the scenario is for."
    )
    clusterId: str | None = Field(
        default=None, min_length=1, max_length=64, description="Code of the cluster (needs `communityId`)."
    )
    unitId: str | None = Field(
        default=None, min_length=1, max_length=64, description="Code of the unit (needs `communityId` and `clusterId`)."
    )
    name: str = Field(min_length=1, max_length=NAME_MAX, description="Name, unique within the scope (409 otherwise).")
    description: str = Field(default="", max_length=DESCRIPTION_MAX, description="What the scenario does.")
    data: str = Field(min_length=1, max_length=DATA_MAX, description=_DATA)


class PatchScenarioRequest(WireModel):
    """Changes to a scenario: only the fields given. Its scope never changes (create another one)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": "Low rsoc, High priority (evenings only)"}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX, description="New name (unique in scope).")
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX, description="New description.")
    data: str | None = Field(default=None, min_length=1, max_length=DATA_MAX, description=_DATA)


class ScenarioChoiceResponse(WireModel):
    """One choice a resident made for a unit (the newest is the unit's current scenario)."""

    id: int = Field(description="Id of the choice.")
    scenario_id: int | None = Field(description="The scenario chosen; null: the resident un-selected the scenario.")
    scenario_name: str | None = Field(description="Its name (null with `scenario_id`).")
    chosen_by: int | None = Field(description="Gateway user id of the resident who chose.")
    chosen_at: datetime = Field(description="When (UTC).")


class ScenarioChoiceListResponse(WireModel):
    limit: int = Field(description="The page size applied.")
    offset: int = Field(description="The offset applied.")
    choices: list[ScenarioChoiceResponse] = Field(description="The unit's choices, newest first.")


# Field names are the device protocol's own (camelCase).
class DeviceUnitForm(WireModel):
    """The unit a device names (the gateway has checked and removed its `username`/`account` and
    `password`). A missing or empty value is the protocol's 400 `no param : ...`."""

    communityId: str | None = Field(default=None, max_length=64, description="Code of the unit's community.")
    clusterId: str | None = Field(default=None, max_length=64, description="Code of the unit's cluster.")
    unitId: str | None = Field(default=None, max_length=64, description="Code of the unit.")
    isMD5Password: str | None = Field(
        default=None, description="Sent by some devices; ignored (the gateway checks the password as given)."
    )


class DeviceUpdateForm(DeviceUnitForm):
    """A device uploading its own scenario: `name` and `data` are required (400 `no param : name, data`)."""

    name: str | None = Field(default=None, max_length=NAME_MAX, description="Name of the unit's own scenario.")
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX, description="Its description.")
    data: str | None = Field(default=None, max_length=DATA_MAX, description=_DATA)


def text_answers(answers: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI ``content`` of a plain-text answer that is one of ``answers`` (text → meaning)."""
    return {
        "text/plain": {
            "schema": {
                "type": "string",
                "enum": list(answers),
                "description": "The outcome, as text.",
                "x-enumDescriptions": answers,
            }
        }
    }
