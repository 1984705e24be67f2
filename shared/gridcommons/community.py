"""The community registry as every service sees it: communities, clusters and units of a company
(identified by codes, unique per parent) and the members linked to each unit (its residents).

community-service owns the registry and publishes every change as a state-carrying event (the whole
current record, with a ``version`` that grows with each change of that record):

- ``community.community.v1`` (key: the community id): ``CommunityV1``
- ``community.cluster.v1`` (key: the cluster id): ``ClusterV1``
- ``community.unit.v1`` (key: the unit id): ``UnitV1`` with the linked resident ids and the
  availability window

Other services keep a replica of it (tables in their own schema) and check the request guards of
the device and resident APIs locally through a ``RegistryLookup``: the replica's lookup in metering,
deal, monitoring and the gateway, community-service's own tables in community-service. The guards
(``staff_cluster``, ``resident_unit``, ``resident``) answer with the texts the device protocol and
its clients know: ``no param : ...`` and ``bad param values : ...`` (400), ``not a resident`` and
``resident required`` (403).

Codes never change once created (devices address units by them); a retired record keeps its codes
and stays readable (``retired_at`` set), so history that names it (deals, downtime, failures) stays
valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from .db import SessionDep
from .errors import DomainError, Forbidden
from .events import TopicDoc
from .identity import TenantDep, TenantIdentity

COMMUNITY_TOPIC = "community.community.v1"
CLUSTER_TOPIC = "community.cluster.v1"
UNIT_TOPIC = "community.unit.v1"
COMMUNITY_CHANGED = "org.gridcommons.community.community.changed"
CLUSTER_CHANGED = "org.gridcommons.community.cluster.changed"
UNIT_CHANGED = "org.gridcommons.community.unit.changed"

COMMUNITY_TOPIC_DOC = TopicDoc(
    COMMUNITY_TOPIC,
    key="the community id",
    description="Every change of a community (created, renamed, retired): its whole current state with a "
    "version that grows with each change. Services keep a replica (gridcommons.community_replica).",
)
CLUSTER_TOPIC_DOC = TopicDoc(
    CLUSTER_TOPIC,
    key="the cluster id",
    description="Every change of a cluster of a community: its whole current state with its version.",
)
UNIT_TOPIC_DOC = TopicDoc(
    UNIT_TOPIC,
    key="the unit id",
    description="Every change of a unit (created, renamed, availability window, residents linked or unlinked, "
    "retired): its whole current state with the resident ids and its version.",
)

STAFF_ROLES = ("admin", "operator")
CODE_MAX_LENGTH = 64


# ----------------------------------------------------------------------------- event payloads (version 1)
class _RegistryRecordV1(BaseModel):
    # Consumers ignore fields a later minor version adds.
    model_config = ConfigDict(extra="ignore")

    id: int = Field(gt=0, description="Internal id of the record (the event key).")
    code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH, description="Code, unique within the parent.")
    name: str = Field(max_length=255, description="Display name.")
    retired_at: AwareDatetime | None = Field(
        default=None, description="When the record was retired (it stays readable); null while active."
    )
    version: int = Field(ge=1, description="Grows by one with every change of this record; replicas keep the highest.")


class CommunityV1(_RegistryRecordV1):
    """``data`` of ``community.changed`` on ``community.community.v1``: a community's current state."""


class ClusterV1(_RegistryRecordV1):
    """``data`` of ``cluster.changed`` on ``community.cluster.v1``: a cluster's current state."""

    community_id: int = Field(gt=0, description="Internal id of the cluster's community.")
    community_code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH, description="Code of the community.")


class UnitV1(_RegistryRecordV1):
    """``data`` of ``unit.changed`` on ``community.unit.v1``: a unit's current state, its residents
    and its availability window."""

    community_id: int = Field(gt=0, description="Internal id of the unit's community.")
    community_code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH, description="Code of the community.")
    cluster_id: int = Field(gt=0, description="Internal id of the unit's cluster.")
    cluster_code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH, description="Code of the cluster.")
    available_from: AwareDatetime | None = Field(default=None, description="Start of availability; null = always.")
    available_to: AwareDatetime | None = Field(
        default=None, description="End of availability (exclusive); null = open."
    )
    resident_ids: list[int] = Field(
        default_factory=list, description="Gateway user ids of the members linked to the unit (its residents)."
    )


PAYLOADS: dict[str, type[BaseModel]] = {
    COMMUNITY_CHANGED: CommunityV1,
    CLUSTER_CHANGED: ClusterV1,
    UNIT_CHANGED: UnitV1,
}


# ----------------------------------------------------------------------------- what a lookup returns
@dataclass(frozen=True)
class ClusterRef:
    company_id: int
    community_id: int
    community_code: str
    cluster_id: int
    cluster_code: str
    retired: bool


@dataclass(frozen=True)
class UnitRef:
    company_id: int
    community_id: int
    community_code: str
    cluster_id: int
    cluster_code: str
    unit_id: int
    unit_code: str
    resident_ids: frozenset[int]
    available_from: datetime | None
    available_to: datetime | None
    retired: bool

    @classmethod
    def from_row(cls, m: Mapping[Any, Any], *, unit_id: str = "unit_id", unit_code: str = "unit_code") -> UnitRef:
        """A unit from a row with these column names (``retired_at`` for the retirement; the unit's own
        id and code under ``unit_id``/``unit_code``, or the names given)."""
        return cls(
            company_id=m["company_id"],
            community_id=m["community_id"],
            community_code=m["community_code"],
            cluster_id=m["cluster_id"],
            cluster_code=m["cluster_code"],
            unit_id=m[unit_id],
            unit_code=m[unit_code],
            resident_ids=frozenset(m["resident_ids"] or ()),
            available_from=m["available_from"],
            available_to=m["available_to"],
            retired=m["retired_at"] is not None,
        )


class RegistryLookup(Protocol):
    """Where a service finds the registry: its replica (``gridcommons.community`` replica tables) or,
    in community-service, its own tables. Every method is scoped by company: another company's
    codes are unknown. Retired records are found (history stays addressable)."""

    async def cluster(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str
    ) -> ClusterRef | None: ...

    async def unit(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str, unit_code: str
    ) -> UnitRef | None: ...

    async def resident_units(self, session: AsyncSession, company_id: int, user_id: int) -> list[UnitRef]: ...


def registry_lookup(request: Request) -> RegistryLookup:
    """The app's lookup: set ``app.state.registry_lookup`` when building the app."""
    lookup: RegistryLookup = request.app.state.registry_lookup
    return lookup


# ----------------------------------------------------------------------------- guards (FastAPI dependencies)
def _missing(names: tuple[str, ...]) -> DomainError:
    return DomainError("no param : " + ", ".join(names), status_code=400)


def _unknown(names: tuple[str, ...]) -> DomainError:
    return DomainError("bad param values : " + ", ".join(names), status_code=400)


def user_id_of(identity: TenantIdentity) -> int | None:
    """The gateway user id of a person (None for a machine client)."""
    if identity.kind != "user" or not identity.subject.isdigit():
        return None
    return int(identity.subject)


async def find_cluster(
    session: AsyncSession, lookup: RegistryLookup, company_id: int, community_id: str | None, cluster_id: str | None
) -> ClusterRef:
    """The cluster named by the request's ``communityId``/``clusterId`` codes, or the seed's 400s."""
    names = ("communityId", "clusterId")
    if not community_id or not cluster_id:
        raise _missing(names)
    found = await lookup.cluster(session, company_id, community_id, cluster_id)
    if found is None:
        raise _unknown(names)
    return found


async def find_resident_unit(
    session: AsyncSession,
    lookup: RegistryLookup,
    identity: TenantIdentity,
    community_id: str | None,
    cluster_id: str | None,
    unit_id: str | None,
) -> UnitRef:
    """The unit named by ``communityId``/``clusterId``/``unitId`` codes, which the caller must be a
    resident of: missing → 400 ``no param``, unknown (or another company's) → 400 ``bad param values``,
    not linked → 403 ``not a resident`` (staff are not implicitly residents)."""
    names = ("communityId", "clusterId", "unitId")
    if not community_id or not cluster_id or not unit_id:
        raise _missing(names)
    found = await lookup.unit(session, identity.company_id, community_id, cluster_id, unit_id)
    if found is None:
        raise _unknown(names)
    user_id = user_id_of(identity)
    if user_id is None or user_id not in found.resident_ids:
        raise Forbidden("not a resident")
    return found


# Query parameters are optional (default None) so that a missing one is the seed's 400 "no param",
# not FastAPI's 422; FastAPI wants that default after the Annotated, not inside Query().
_COMMUNITY_Q = Query(alias="communityId", description="Code of the community.")
_CLUSTER_Q = Query(alias="clusterId", description="Code of the cluster within the community.")
_UNIT_Q = Query(alias="unitId", description="Code of the unit within the cluster.")


async def _staff_cluster(
    request: Request,
    identity: TenantDep,
    session: SessionDep,
    community_id: Annotated[str | None, _COMMUNITY_Q] = None,
    cluster_id: Annotated[str | None, _CLUSTER_Q] = None,
) -> ClusterRef:
    if not identity.has_any(*STAFF_ROLES):
        raise Forbidden("staff required")
    return await find_cluster(session, registry_lookup(request), identity.company_id, community_id, cluster_id)


async def _resident_unit(
    request: Request,
    identity: TenantDep,
    session: SessionDep,
    community_id: Annotated[str | None, _COMMUNITY_Q] = None,
    cluster_id: Annotated[str | None, _CLUSTER_Q] = None,
    unit_id: Annotated[str | None, _UNIT_Q] = None,
) -> UnitRef:
    return await find_resident_unit(session, registry_lookup(request), identity, community_id, cluster_id, unit_id)


async def _resident(request: Request, identity: TenantDep, session: SessionDep) -> list[UnitRef]:
    user_id = user_id_of(identity)
    units = (
        [] if user_id is None else await registry_lookup(request).resident_units(session, identity.company_id, user_id)
    )
    if not units:
        raise Forbidden("resident required")
    return units


# A staff request naming a cluster by the query's communityId and clusterId codes.
StaffCluster = Annotated[ClusterRef, Depends(_staff_cluster)]
# A resident request naming one of the caller's units by communityId, clusterId and unitId codes.
ResidentUnit = Annotated[UnitRef, Depends(_resident_unit)]
# A caller linked to at least one unit of the company: the units, ordered by codes.
Resident = Annotated[list[UnitRef], Depends(_resident)]
