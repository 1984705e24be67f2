"""Rules of the meter registry.

Who: the user views act for the calling gateway user (``Caller.user_id``) in the company named by
CompanyID, or, without it, in every company where the membership replica shows the user; the admin
views act in the company for its ``admin``. Another company's (or user's) resource is a 404. A body's
``user`` must be the caller (user views) or a member of the company (admin views): 403 otherwise. A
reference in a body to something unknown is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error

from ..series import service as series_service
from ..series.schemas import CreateSeriesRequest, SeriesKind
from . import repository
from .schemas import (
    AssignedMeasurementResponse,
    AssignMeasurementsRequest,
    HostRequest,
    HostResponse,
    LocationRequest,
    LocationResponse,
    MeasurementRequest,
    MeasurementResponse,
    MeterRequest,
    MeterResponse,
    ModbusRegisterRequest,
    ModbusRegisterResponse,
    check_unit_for,
)


@dataclass(frozen=True)
class Caller:
    """Where a request acts: its companies, and the user whose resources it sees (None: all, admin)."""

    companies: tuple[int, ...]
    user_id: int | None = None


def _invalid(field: str, msg: str, value: Any) -> ValidationFailed:
    return ValidationFailed([field_error(["body", field], msg, value)])


def series_key(host_id: int, measurement: str) -> str:
    """External key of the series of an assigned measurement."""
    return f"host:{host_id}/measurement:{measurement}"


# ------------------------------------------------------------------ responses
def location_out(r: RowMapping) -> LocationResponse:
    return LocationResponse(
        id=r["id"], street=r["street"], number=r["number"], city=r["city"], zip_code=r["zip_code"],
        coord_x=r["coord_x"], coord_y=r["coord_y"], user=r["user_id"],
    )  # fmt: skip


def host_out(r: RowMapping) -> HostResponse:
    return HostResponse(
        id=r["id"], ip=r["ip"], port=r["port"], slave_address=r["slave_address"], description=r["description"],
        user=r["user_id"], location=r["location_id"], meter=r["meter_id"],
        poll_interval_seconds=r["poll_interval_seconds"], status=r["status"], status_reason=r["status_reason"],
        status_changed_at=r["status_changed_at"], last_polled_at=r["last_polled_at"],
    )  # fmt: skip


def register_out(r: RowMapping) -> ModbusRegisterResponse:
    return ModbusRegisterResponse(
        id=r["id"], address=r["address"], unit=r["unit"], type=r["type"], function_code=r["function_code"],
        meter=r["meter_id"], measurement=r["measurement"], word_order=r["word_order"],
    )  # fmt: skip


def assignment_out(r: RowMapping) -> AssignedMeasurementResponse:
    return AssignedMeasurementResponse(
        id=r["id"], host=r["host_id"], measurement=r["measurement"], series_id=r["series_id"]
    )


# ------------------------------------------------------------------ locations
async def _check_user(session: AsyncSession, company_id: int, caller: Caller, user: int) -> None:
    if caller.user_id is not None and user != caller.user_id:
        raise Forbidden("user must be the caller")
    if not await repository.is_member(session, company_id, user):
        raise Forbidden(f"user {user} is not a member of this company")


async def list_locations(session: AsyncSession, caller: Caller) -> list[LocationResponse]:
    return [location_out(r) for r in await repository.list_locations(session, caller.companies, caller.user_id)]


async def get_location(session: AsyncSession, caller: Caller, location_id: int) -> LocationResponse:
    row = await repository.get_location(session, caller.companies, caller.user_id, location_id)
    if row is None:
        raise NotFound(f"Location {location_id} not found")
    return location_out(row)


async def create_location(
    session: AsyncSession, company_id: int, caller: Caller, body: LocationRequest
) -> LocationResponse:
    await _check_user(session, company_id, caller, body.user)
    if await repository.address_taken(session, company_id, body.street, body.number, body.city):
        raise Conflict(f"A location at {body.street} {body.number}, {body.city} already exists in this company")
    values = body.model_dump(exclude={"user"})
    row = await repository.create_location(session, {**values, "company_id": company_id, "user_id": body.user})
    return location_out(row)


# ------------------------------------------------------------------ meters, measurements, registers
async def list_meters(session: AsyncSession, companies: Sequence[int]) -> list[MeterResponse]:
    return [
        MeterResponse(id=r["id"], name=r["name"], type=r["type"])
        for r in await repository.list_meters(session, companies)
    ]


async def create_meter(session: AsyncSession, company_id: int, body: MeterRequest) -> MeterResponse:
    if await repository.meter_named(session, company_id, body.name) is not None:
        raise Conflict(f"A meter model named {body.name!r} already exists in this company")
    row = await repository.create_meter(session, {"company_id": company_id, "name": body.name, "type": int(body.type)})
    return MeterResponse(id=row["id"], name=row["name"], type=row["type"])


async def meter_measurements(
    session: AsyncSession, companies: Sequence[int], meter_id: int
) -> list[MeasurementResponse]:
    if await repository.get_meter(session, companies, meter_id) is None:
        raise NotFound(f"Meter {meter_id} not found")
    rows = await repository.meter_measurements(session, meter_id)
    return [MeasurementResponse(measurement=r["measurement"], type=r["measurement_type"]) for r in rows]


async def list_measurements(session: AsyncSession, company_id: int) -> list[MeasurementResponse]:
    rows = await repository.list_measurements(session, company_id)
    return [MeasurementResponse(measurement=r["name"], type=r["type"]) for r in rows]


async def create_measurement(session: AsyncSession, company_id: int, body: MeasurementRequest) -> MeasurementResponse:
    if await repository.get_measurement(session, company_id, body.measurement) is not None:
        raise Conflict(f"A measurement named {body.measurement!r} already exists in this company")
    values = {"company_id": company_id, "name": body.measurement, "type": int(body.type)}
    row = await repository.create_measurement(session, values)
    return MeasurementResponse(measurement=row["name"], type=row["type"])


async def list_registers(session: AsyncSession, company_id: int) -> list[ModbusRegisterResponse]:
    return [register_out(r) for r in await repository.list_registers(session, company_id)]


async def create_register(
    session: AsyncSession, company_id: int, body: ModbusRegisterRequest
) -> ModbusRegisterResponse:
    if await repository.get_meter(session, (company_id,), body.meter) is None:
        raise _invalid("meter", "unknown meter model", body.meter)
    measurement = await repository.get_measurement(session, company_id, body.measurement)
    if measurement is None:
        raise _invalid(
            "measurement", "unknown measurement: create it first (POST /admin/measurements)", body.measurement
        )
    why = check_unit_for(measurement["type"], body.unit)
    if why is not None:
        raise _invalid("unit", why, body.unit)
    if await repository.register_of(session, body.meter, body.measurement) is not None:
        raise Conflict(f"Meter model {body.meter} already has a register for {body.measurement!r}")
    values = {
        "company_id": company_id, "meter_id": body.meter, "measurement": body.measurement, "address": body.address,
        "unit": body.unit.value, "type": int(body.type), "function_code": int(body.function_code),
        "word_order": body.word_order.value,
    }  # fmt: skip
    return register_out(await repository.create_register(session, values))


# ------------------------------------------------------------------ hosts
async def list_hosts(session: AsyncSession, caller: Caller) -> list[HostResponse]:
    return [host_out(r) for r in await repository.list_hosts(session, caller.companies, caller.user_id)]


async def create_host(session: AsyncSession, company_id: int, caller: Caller, body: HostRequest) -> HostResponse:
    await _check_user(session, company_id, caller, body.user)
    location = await repository.get_location(session, (company_id,), None, body.location)
    if location is None:
        raise _invalid("location", "unknown location", body.location)
    if location["user_id"] != body.user:
        raise _invalid("location", f"location {body.location} does not belong to user {body.user}", body.location)
    if await repository.get_meter(session, (company_id,), body.meter) is None:
        raise _invalid("meter", "unknown meter model", body.meter)
    if await repository.endpoint_taken(session, company_id, body.ip, body.port, body.slave_address):
        raise Conflict(f"A host at {body.ip}:{body.port} with slave address {body.slave_address} already exists")
    values = body.model_dump(exclude={"user", "location", "meter"})
    values |= {"company_id": company_id, "user_id": body.user, "location_id": body.location, "meter_id": body.meter}
    return host_out(await repository.create_host(session, values))


async def _host(session: AsyncSession, caller: Caller, host_id: int) -> RowMapping:
    row = await repository.get_host(session, caller.companies, caller.user_id, host_id)
    if row is None:
        raise NotFound(f"Host {host_id} not found")
    return row


async def host_measurements(session: AsyncSession, caller: Caller, host_id: int) -> list[AssignedMeasurementResponse]:
    host = await _host(session, caller, host_id)
    return [assignment_out(r) for r in await repository.assignments(session, host["id"])]


async def assign(
    session: AsyncSession, caller: Caller, host_id: int, body: AssignMeasurementsRequest
) -> list[AssignedMeasurementResponse]:
    """Assign measurements (idempotent: an assigned one is answered as it is); each new one gets its
    series (kind from the measurement type, unit from the register)."""
    host = await _host(session, caller, host_id)
    company_id = host["company_id"]
    registers = {r["measurement"]: r for r in await repository.meter_measurements(session, host["meter_id"])}
    errors = [
        field_error(["body", "measurements", i], f"meter model {host['meter_id']} has no register for it", name)
        for i, name in enumerate(body.measurements)
        if name not in registers
    ]
    if errors:
        raise ValidationFailed(errors)
    held = {r["measurement"]: r for r in await repository.assignments(session, host_id)}
    out = []
    for name in dict.fromkeys(body.measurements):
        row = held.get(name)
        if row is None:
            reg = registers[name]
            kind = SeriesKind.CUMULATIVE if reg["measurement_type"] == 2 else SeriesKind.INSTANTANEOUS
            series = await series_service.create_series(
                session,
                company_id,
                CreateSeriesRequest(
                    external_key=series_key(host_id, name),
                    kind=kind,
                    unit=reg["unit"],
                    name=f"{host['description'] or 'host ' + str(host_id)}: {name}"[:255],
                    metadata={"host_id": host_id, "meter_id": host["meter_id"], "register_id": reg["id"]},
                ),
            )
            row = await repository.create_assignment(
                session, {"company_id": company_id, "host_id": host_id, "measurement": name, "series_id": series.id}
            )
        out.append(assignment_out(row))
    return out


async def unassign(
    session: AsyncSession, caller: Caller, host_id: int, names: Sequence[str]
) -> list[AssignedMeasurementResponse]:
    """Stop polling measurements of a host (an unassigned name is ignored): their series are retired
    (readings kept). Answers what stays assigned."""
    host = await _host(session, caller, host_id)
    remaining = []
    for row in await repository.assignments(session, host_id):
        if row["measurement"] in names:
            await series_service.retire_series(session, host["company_id"], row["series_id"])
            await repository.delete_assignment(session, row["id"])
        else:
            remaining.append(assignment_out(row))
    return remaining
