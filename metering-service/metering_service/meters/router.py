"""Seed 001's management API: the user views (`/user/...`, `/meters`) and the admin views (`/admin/...`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed, responses
from gridcommons.identity import IdentityDep, TenantIdentity, require_roles

from . import repository, service
from .schemas import (
    MAX_ID,
    AssignedMeasurementResponse,
    AssignMeasurementsRequest,
    HostRequest,
    HostResponse,
    LocationRequest,
    LocationResponse,
    MeasurementName,
    MeasurementRequest,
    MeasurementResponse,
    MeterRequest,
    MeterResponse,
    ModbusRegisterRequest,
    ModbusRegisterResponse,
)
from .service import Caller

user_router = APIRouter(tags=["meter registry"])
admin_router = APIRouter(prefix="/admin", tags=["meter registry admin"])

Admin = Annotated[TenantIdentity, require_roles("admin")]


def _id_path(what: str) -> object:
    return Path(ge=1, le=MAX_ID, description=f"{what} id.", examples=[1])


LocationId = Annotated[int, _id_path("Location")]
MeterId = Annotated[int, _id_path("Meter model")]
HostId = Annotated[int, _id_path("Host")]
FORBIDDEN = (Forbidden, "user is not the caller, or not a member of the company")


@dataclass(frozen=True)
class UserContext:
    user_id: int
    company_id: int | None  # the CompanyID sent, if any
    caller: Caller

    def company(self) -> int:
        if self.company_id is None:
            raise DomainError("CompanyID header is required to create", status_code=400)
        return self.company_id


async def user_context(identity: IdentityDep, session: SessionDep) -> UserContext:
    """The calling gateway user and the companies it acts in (CompanyID, or every company it is a member of)."""
    if identity.kind != "user" or not identity.subject.isdigit():
        raise Forbidden("only a gateway user has locations, hosts and meters here")
    user_id = int(identity.subject)
    if identity.company_id is not None:
        companies: tuple[int, ...] = (identity.company_id,)  # the gateway checked the membership
    else:
        companies = tuple(await repository.member_companies(session, user_id))
    return UserContext(user_id, identity.company_id, Caller(companies, user_id))


User = Annotated[UserContext, Depends(user_context)]


# ------------------------------------------------------------------ user views
@user_router.get("/user/locations", response_model=list[LocationResponse])
async def list_user_locations(session: SessionDep, who: User) -> list[LocationResponse]:
    """The caller's locations."""
    return await service.list_locations(session, who.caller)


@user_router.post(
    "/user/locations",
    response_model=LocationResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(FORBIDDEN, (Conflict, "A location at this street, number and city exists"), ValidationFailed),
)
async def create_user_location(body: LocationRequest, session: SessionDep, who: User) -> LocationResponse:
    """Add a location of the caller (``user`` must be the caller; CompanyID required)."""
    return await service.create_location(session, who.company(), who.caller, body)


@user_router.get(
    "/user/locations/{pk}", response_model=LocationResponse, responses=responses((NotFound, "No such location"))
)
async def get_user_location(pk: LocationId, session: SessionDep, who: User) -> LocationResponse:
    """One of the caller's locations."""
    return await service.get_location(session, who.caller, pk)


@user_router.get("/user/hosts", response_model=list[HostResponse])
async def list_user_hosts(session: SessionDep, who: User) -> list[HostResponse]:
    """The caller's hosts, with what the poller last saw of each."""
    return await service.list_hosts(session, who.caller)


@user_router.get("/meters", response_model=list[MeterResponse])
async def list_available_meters(session: SessionDep, who: User) -> list[MeterResponse]:
    """The meter models of the caller's companies."""
    return await service.list_meters(session, who.caller.companies)


@user_router.get(
    "/meters/{meter_id}/measurements",
    response_model=list[MeasurementResponse],
    responses=responses((NotFound, "No such meter model")),
)
async def list_meter_measurements(meter_id: MeterId, session: SessionDep, who: User) -> list[MeasurementResponse]:
    """The measurements a meter model has a register for."""
    return await service.meter_measurements(session, who.caller.companies, meter_id)


@user_router.get(
    "/user/hosts/{host_id}/measurements",
    response_model=list[AssignedMeasurementResponse],
    responses=responses((NotFound, "No such host")),
)
async def list_host_measurements(host_id: HostId, session: SessionDep, who: User) -> list[AssignedMeasurementResponse]:
    """The measurements polled on one of the caller's hosts."""
    return await service.host_measurements(session, who.caller, host_id)


@user_router.post(
    "/user/hosts/{host_id}/measurements",
    response_model=list[AssignedMeasurementResponse],
    status_code=status.HTTP_201_CREATED,
    responses=responses(
        (NotFound, "No such host"), (Conflict, "A live series has the assignment's key"), ValidationFailed
    ),
)
async def assign_host_measurements(
    host_id: HostId, body: AssignMeasurementsRequest, session: SessionDep, who: User
) -> list[AssignedMeasurementResponse]:
    """Poll measurements on a host (each needs a register on the host's meter model). Each assignment
    is a series (external key ``host:<id>/measurement:<name>``) that receives the readings; assigning
    an assigned measurement again answers it unchanged."""
    return await service.assign(session, who.caller, host_id, body)


@user_router.delete(
    "/user/hosts/{host_id}/measurements",
    response_model=list[AssignedMeasurementResponse],
    responses=responses((NotFound, "No such host")),
)
async def unassign_host_measurements(
    host_id: HostId,
    session: SessionDep,
    who: User,
    measurement: Annotated[
        list[MeasurementName],
        Query(min_length=1, max_length=256, description="A measurement to stop polling (repeatable)."),
    ],
) -> list[AssignedMeasurementResponse]:
    """Stop polling measurements of a host: their series are retired (readings kept). Answers the
    measurements still assigned."""
    return await service.unassign(session, who.caller, host_id, measurement)


# ------------------------------------------------------------------ admin views (the company's admin)
def _admin(who: TenantIdentity) -> Caller:
    return Caller((who.company_id,))


@admin_router.get("/locations", response_model=list[LocationResponse])
async def admin_list_locations(session: SessionDep, who: Admin) -> list[LocationResponse]:
    """Every location of the company."""
    return await service.list_locations(session, _admin(who))


@admin_router.post(
    "/locations",
    response_model=LocationResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(FORBIDDEN, (Conflict, "A location at this street, number and city exists"), ValidationFailed),
)
async def admin_create_location(body: LocationRequest, session: SessionDep, who: Admin) -> LocationResponse:
    """Add a location of a member of the company."""
    return await service.create_location(session, who.company_id, _admin(who), body)


@admin_router.get(
    "/locations/{pk}", response_model=LocationResponse, responses=responses((NotFound, "No such location"))
)
async def admin_get_location(pk: LocationId, session: SessionDep, who: Admin) -> LocationResponse:
    """One location of the company."""
    return await service.get_location(session, _admin(who), pk)


@admin_router.get("/hosts", response_model=list[HostResponse])
async def admin_list_hosts(session: SessionDep, who: Admin) -> list[HostResponse]:
    """Every host of the company, with what the poller last saw of each."""
    return await service.list_hosts(session, _admin(who))


@admin_router.post(
    "/hosts",
    response_model=HostResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(FORBIDDEN, (Conflict, "A host has this ip, port and slave address"), ValidationFailed),
)
async def admin_create_host(body: HostRequest, session: SessionDep, who: Admin) -> HostResponse:
    """Add a host of a member (its location must be one of the member's)."""
    return await service.create_host(session, who.company_id, _admin(who), body)


@admin_router.get("/meters", response_model=list[MeterResponse])
async def admin_list_meters(session: SessionDep, who: Admin) -> list[MeterResponse]:
    """Every meter model of the company."""
    return await service.list_meters(session, (who.company_id,))


@admin_router.post(
    "/meters",
    response_model=MeterResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses((Conflict, "A meter model has this name"), ValidationFailed),
)
async def admin_create_meter(body: MeterRequest, session: SessionDep, who: Admin) -> MeterResponse:
    """Add a meter model."""
    return await service.create_meter(session, who.company_id, body)


@admin_router.get("/measurements", response_model=list[MeasurementResponse])
async def admin_list_measurements(session: SessionDep, who: Admin) -> list[MeasurementResponse]:
    """Every measurement of the company."""
    return await service.list_measurements(session, who.company_id)


@admin_router.post(
    "/measurements",
    response_model=MeasurementResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses((Conflict, "A measurement has this name"), ValidationFailed),
)
async def admin_create_measurement(body: MeasurementRequest, session: SessionDep, who: Admin) -> MeasurementResponse:
    """Add a measurement."""
    return await service.create_measurement(session, who.company_id, body)


@admin_router.get("/registers", response_model=list[ModbusRegisterResponse])
async def admin_list_registers(session: SessionDep, who: Admin) -> list[ModbusRegisterResponse]:
    """Every register of the company's meter models."""
    return await service.list_registers(session, who.company_id)


@admin_router.post(
    "/registers",
    response_model=ModbusRegisterResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses((Conflict, "The meter model has a register for this measurement"), ValidationFailed),
)
async def admin_create_register(body: ModbusRegisterRequest, session: SessionDep, who: Admin) -> ModbusRegisterResponse:
    """Add a register to a meter model (the measurement must exist; one register per measurement)."""
    return await service.create_register(session, who.company_id, body)
