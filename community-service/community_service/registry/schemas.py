"""Wire shapes of the registry: the management API (``/api/community/...``) and the outlines
(``/api/staff/community/outline``, ``/api/resident/community/outline``, seed 004's nested shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from gridcommons.community import CODE_MAX_LENGTH
from gridcommons.validation import SAFE_INTEGER_MAX, Text, UtcInstant
from gridcommons.wire import WireModel

# Codes address records in paths and in the device protocol: URL-safe, starting with a letter or a
# digit (so never "." or ".."), compared byte-wise (the column's "C" collation).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CODE_RULE = f"1..{CODE_MAX_LENGTH} characters: letters, digits, `.`, `_`, `-`, starting with a letter or a digit"
NAME_MAX_LENGTH = 255
USER_ID_MAX = SAFE_INTEGER_MAX


def _code_path(alias: str, what: str, example: str) -> Any:
    return Path(
        alias=alias,
        min_length=1,
        max_length=CODE_MAX_LENGTH,
        pattern=CODE_PATTERN,
        description=f"Code of the {what} ({CODE_RULE}).",
        examples=[example],
    )


CommunityCode = Annotated[str, _code_path("communityId", "community", "oss_community")]
ClusterCode = Annotated[str, _code_path("clusterId", "cluster within the community", "oss_cluster")]
UnitCode = Annotated[str, _code_path("unitId", "unit within the cluster", "E001")]
UserIdPath = Annotated[
    int,
    Path(
        alias="userId",
        ge=1,
        le=USER_ID_MAX,
        description="The user's id at the gateway (`GET /auth/info` answers it as `id`); "
        "the user must be a member of the company.",
        examples=[42],
    ),
]
IncludeRetired = Annotated[
    bool,
    Query(description="Also list retired records (hidden by default; a retired record stays readable by its code)."),
]
AsOf = Annotated[
    UtcInstant | SkipJsonSchema[None],
    Query(
        description="Only units available at this instant (ISO 8601 with an offset, e.g. `2027-01-15T08:00:00Z`): "
        "`available_from` null or at or before it, and `available_to` null or after it. "
        "Omitted: every unit, whatever its availability window.",
    ),
]


def _code_field(example: str) -> Any:
    return Field(
        min_length=1,
        max_length=CODE_MAX_LENGTH,
        pattern=CODE_PATTERN,
        description=f"Code, unique within the parent and never changed ({CODE_RULE}).",
        examples=[example],
    )


def _name_field(example: str, *, what: str = "Display name") -> Any:
    return Field(
        min_length=1, max_length=NAME_MAX_LENGTH, description=f"{what} (1..255 characters).", examples=[example]
    )


def _patch_name_field(example: str) -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        description="New display name (omit to keep; null is refused).",
        examples=[example],
    )


_FROM_TEXT = "Start of the unit's availability (ISO 8601 instant with an offset, answered in UTC); null: always available before `available_to`."
_TO_TEXT = (
    "End of the unit's availability, exclusive (ISO 8601 instant with an offset, answered in UTC); null: open-ended."
)


def _check_window(available_from: datetime | None, available_to: datetime | None) -> None:
    if available_from is not None and available_to is not None and available_from >= available_to:
        raise ValueError("available_from must be before available_to")


# ------------------------------------------------------------------------------------------- requests
class CreateCommunityRequest(WireModel):
    code: str = _code_field("oss_community")
    name: Text = _name_field("OSS Community")


class CreateClusterRequest(WireModel):
    code: str = _code_field("oss_cluster")
    name: Text = _name_field("OSS Cluster")


class CreateUnitRequest(WireModel):
    code: str = _code_field("E001")
    name: Text = _name_field("E001")
    available_from: UtcInstant | None = Field(default=None, description=_FROM_TEXT, examples=[None])
    available_to: UtcInstant | None = Field(default=None, description=_TO_TEXT, examples=[None])

    @model_validator(mode="after")
    def _window(self) -> CreateUnitRequest:
        _check_window(self.available_from, self.available_to)
        return self


def _refuse_nulls(data: Any, fields: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        if "code" in data:
            raise ValueError("code cannot be changed: devices and history address the record by it")
        nulls = [k for k in fields if k in data and data[k] is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null (omit a field to leave it unchanged)")
    return data


class PatchCommunityRequest(WireModel):
    """Partial update: omitted fields are left untouched. The code never changes (422)."""

    name: Text | SkipJsonSchema[None] = _patch_name_field("OSS Community East")

    @model_validator(mode="before")
    @classmethod
    def _fixed(cls, data: Any) -> Any:
        return _refuse_nulls(data, ("name",))


class PatchClusterRequest(WireModel):
    """Partial update: omitted fields are left untouched. The code never changes (422)."""

    name: Text | SkipJsonSchema[None] = _patch_name_field("OSS Cluster North")

    @model_validator(mode="before")
    @classmethod
    def _fixed(cls, data: Any) -> Any:
        return _refuse_nulls(data, ("name",))


class PatchUnitRequest(WireModel):
    """Partial update: omitted fields are left untouched; `available_from`/`available_to` null clear
    the bound. The resulting window must keep `available_from` before `available_to` (422)."""

    name: Text | SkipJsonSchema[None] = _patch_name_field("House 1")
    available_from: UtcInstant | None = Field(
        default=None,
        description="New start of availability (omit to keep, null to clear).",
        examples=["2027-01-01T00:00:00Z"],
    )
    available_to: UtcInstant | None = Field(
        default=None,
        description="New end of availability, exclusive (omit to keep, null to clear).",
        examples=["2028-01-01T00:00:00Z"],
    )

    @model_validator(mode="before")
    @classmethod
    def _fixed(cls, data: Any) -> Any:
        return _refuse_nulls(data, ("name",))

    @model_validator(mode="after")
    def _window(self) -> PatchUnitRequest:
        _check_window(self.available_from, self.available_to)
        return self


# ------------------------------------------------------------------------------------------- responses
_ID_TEXT = "Internal id of the record: the key of its events (`community.*.v1`); clients address it by code."


class _RecordResponse(WireModel):
    id: int = Field(description=_ID_TEXT, examples=[1])
    code: str = Field(description="Code, unique within the parent and never changed.")
    name: str = Field(description="Display name.")
    created_at: datetime = Field(
        description="When the record was created (ISO 8601 instant, UTC).", examples=["2026-11-02T09:30:00Z"]
    )
    updated_at: datetime = Field(
        description="When the record last changed (ISO 8601 instant, UTC).", examples=["2026-11-02T09:30:00Z"]
    )
    retired_at: datetime | None = Field(
        description="When the record was retired (ISO 8601 instant, UTC); null while active. A retired record "
        "stays readable, is hidden from lists and outlines, and takes no new children or residents.",
        examples=[None],
    )
    version: int = Field(
        description="Grows by one with every change of the record (the `version` of its events).", examples=[1]
    )


class CommunityResponse(_RecordResponse):
    code: str = Field(description="Code of the community, unique in the company.", examples=["oss_community"])
    name: str = Field(description="Display name.", examples=["OSS Community"])


class ClusterResponse(_RecordResponse):
    code: str = Field(description="Code of the cluster, unique in its community.", examples=["oss_cluster"])
    name: str = Field(description="Display name.", examples=["OSS Cluster"])
    community_code: str = Field(description="Code of the cluster's community.", examples=["oss_community"])


class UnitResponse(_RecordResponse):
    code: str = Field(description="Code of the unit, unique in its cluster.", examples=["E001"])
    name: str = Field(description="Display name.", examples=["E001"])
    community_code: str = Field(description="Code of the unit's community.", examples=["oss_community"])
    cluster_code: str = Field(description="Code of the unit's cluster.", examples=["oss_cluster"])
    available_from: datetime | None = Field(description=_FROM_TEXT, examples=[None])
    available_to: datetime | None = Field(description=_TO_TEXT, examples=[None])
    resident_ids: list[int] = Field(
        description="Gateway user ids of the members linked to the unit (its residents), ascending.", examples=[[42]]
    )


class _Page(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")


class CommunityListResponse(_Page):
    communities: list[CommunityResponse] = Field(description="The communities of this page, ordered by code.")


class ClusterListResponse(_Page):
    clusters: list[ClusterResponse] = Field(description="The community's clusters of this page, ordered by code.")


class UnitListResponse(_Page):
    units: list[UnitResponse] = Field(description="The cluster's units of this page, ordered by code.")


class ResidentResponse(WireModel):
    user_id: int = Field(description="The resident's user id at the gateway.", examples=[42])
    username: str | None = Field(
        description="The resident's username as the company's membership knows it (null if not known yet).",
        examples=["e001"],
    )
    linked_at: datetime = Field(
        description="When the user was linked to the unit (ISO 8601 instant, UTC).", examples=["2026-11-02T09:30:00Z"]
    )


class ResidentListResponse(WireModel):
    residents: list[ResidentResponse] = Field(description="Every resident of the unit, ordered by user id.")


# ------------------------------------------------------------------------------------------- outline (seed 004)
class OutlineUnit(WireModel):
    communityId: str = Field(description="Code of the unit's community.", examples=["oss_community"])
    clusterId: str = Field(description="Code of the unit's cluster.", examples=["oss_cluster"])
    id: str = Field(description="Code of the unit (the key of this entry).", examples=["E001"])
    name: str = Field(description="Display name of the unit.", examples=["E001"])
    available_from: datetime | None = Field(description=_FROM_TEXT, examples=[None])
    available_to: datetime | None = Field(description=_TO_TEXT, examples=[None])


class OutlineCluster(WireModel):
    communityId: str = Field(description="Code of the cluster's community.", examples=["oss_community"])
    id: str = Field(description="Code of the cluster (the key of this entry).", examples=["oss_cluster"])
    name: str = Field(description="Display name of the cluster.", examples=["OSS Cluster"])
    units: dict[str, OutlineUnit] = Field(description="The cluster's units by code, in code order.")


class OutlineCommunity(WireModel):
    id: str = Field(description="Code of the community (the key of this entry).", examples=["oss_community"])
    name: str = Field(description="Display name of the community.", examples=["OSS Community"])
    clusters: dict[str, OutlineCluster] = Field(description="The community's clusters by code, in code order.")


class OutlineResponse(WireModel):
    """Communities → clusters → units of the company, each level an object keyed by code in code order."""

    communities: dict[str, OutlineCommunity] = Field(description="The communities by code, in code order.")
