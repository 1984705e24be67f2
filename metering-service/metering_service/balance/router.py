from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from gridcommons.db import SessionDep
from gridcommons.errors import NotFound, ValidationFailed, responses

from ..roles import Manager
from . import service
from .schemas import EnergyBalanceRequest, EnergyBalanceResponse

router = APIRouter(tags=["energy balance"])


@router.post(
    "/api/metering/energy-balance",
    response_model=EnergyBalanceResponse,
    responses=responses((NotFound, "A series is not one of this company's"), ValidationFailed),
)
async def energy_balance(body: EnergyBalanceRequest, session: SessionDep, who: Manager) -> Response:
    """The energy balance of production and consumption series over a period, per quarter hour:
    production P, consumption C, self-consumed S = min(P, C), exported P − S and taken from the grid
    C − S (kWh), with the sums per local day of `tz` and over the period, and the coverage (series ×
    quarter hours expected and received). Energy comes from the series' quarter-hour rollups: an energy
    register's counted energy, or a power series' time-weighted average × covered time; missing data
    counts as nothing and shows in the coverage (never interpolated). Also the query community-service
    runs for a community's members."""
    payload = await service.energy_balance(session, who.company_id, body)
    # built as plain dicts and serialized once: a year of quarter hours is 35,040 intervals
    return Response(orjson.dumps(payload), media_type="application/json")
