"""Who reads which series: admin and operator every series of their company; a member (seed 004's resident)
the series linked to the units they are a resident of (the community registry replica); nobody else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gridcommons.community import STAFF_ROLES, registry_lookup, user_id_of
from gridcommons.db import SessionDep
from gridcommons.errors import Forbidden
from gridcommons.identity import TenantDep, TenantIdentity

MEMBER_ROLE = "member"


@dataclass(frozen=True)
class SeriesReader:
    """A caller allowed to read series: ``unit_ids`` None for staff (the whole company), else the
    registry units the member is a resident of (possibly none: they read nothing)."""

    identity: TenantIdentity
    unit_ids: frozenset[int] | None

    @property
    def company_id(self) -> int:
        return self.identity.company_id


async def series_reader(request: Request, identity: TenantDep, session: SessionDep) -> SeriesReader:
    if identity.has_any(*STAFF_ROLES):
        return SeriesReader(identity, None)
    if not identity.has_any(MEMBER_ROLE):
        raise Forbidden("Insufficient role for this operation")
    user_id = user_id_of(identity)
    units = (
        [] if user_id is None else await registry_lookup(request).resident_units(session, identity.company_id, user_id)
    )
    return SeriesReader(identity, frozenset(u.unit_id for u in units))


# admin, operator: the company's series; member: those linked to their units (others answer 404).
Reader = Annotated[SeriesReader, Depends(series_reader)]
