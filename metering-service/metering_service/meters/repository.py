"""SQL of the meter registry; every read is scoped by the caller's companies (and user, in the user views)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import replicas
from .models import assigned_measurements, hosts, locations, measurements, meters, registers


async def member_companies(session: AsyncSession, user_id: int) -> list[int]:
    """Companies where the gateway user is a member (the membership replica)."""
    t = replicas.memberships_table
    rows = await session.execute(select(t.c.company_id).where(t.c.kind == "user", t.c.member == str(user_id)))
    return [int(r[0]) for r in rows]


async def is_member(session: AsyncSession, company_id: int, user_id: int) -> bool:
    return await replicas.role(session, company_id, "user", str(user_id)) is not None


async def _one(session: AsyncSession, stmt: Any) -> RowMapping | None:
    return (await session.execute(stmt)).mappings().first()


async def _all(session: AsyncSession, stmt: Any) -> Sequence[RowMapping]:
    return (await session.execute(stmt)).mappings().all()


# ------------------------------------------------------------------ locations
def _locations(companies: Sequence[int], user_id: int | None) -> Any:
    stmt = select(locations).where(locations.c.company_id.in_(companies))
    if user_id is not None:
        stmt = stmt.where(locations.c.user_id == user_id)
    return stmt


async def list_locations(session: AsyncSession, companies: Sequence[int], user_id: int | None) -> Sequence[RowMapping]:
    return await _all(session, _locations(companies, user_id).order_by(locations.c.id))


async def get_location(
    session: AsyncSession, companies: Sequence[int], user_id: int | None, location_id: int
) -> RowMapping | None:
    return await _one(session, _locations(companies, user_id).where(locations.c.id == location_id))


async def address_taken(session: AsyncSession, company_id: int, street: str, number: str, city: str) -> bool:
    t = locations
    stmt = select(t.c.id).where(
        t.c.company_id == company_id, t.c.street == street, t.c.number == number, t.c.city == city
    )
    return await _one(session, stmt) is not None


async def create_location(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(locations).values(values).returning(locations))).mappings().one()


# ------------------------------------------------------------------ meters, measurements, registers
async def list_meters(session: AsyncSession, companies: Sequence[int]) -> Sequence[RowMapping]:
    return await _all(session, select(meters).where(meters.c.company_id.in_(companies)).order_by(meters.c.id))


async def get_meter(session: AsyncSession, companies: Sequence[int], meter_id: int) -> RowMapping | None:
    return await _one(session, select(meters).where(meters.c.company_id.in_(companies), meters.c.id == meter_id))


async def meter_named(session: AsyncSession, company_id: int, name: str) -> RowMapping | None:
    return await _one(session, select(meters).where(meters.c.company_id == company_id, meters.c.name == name))


async def create_meter(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(meters).values(values).returning(meters))).mappings().one()


async def list_measurements(session: AsyncSession, company_id: int) -> Sequence[RowMapping]:
    t = measurements
    return await _all(session, select(t).where(t.c.company_id == company_id).order_by(t.c.name))


async def get_measurement(session: AsyncSession, company_id: int, name: str) -> RowMapping | None:
    t = measurements
    return await _one(session, select(t).where(t.c.company_id == company_id, t.c.name == name))


async def create_measurement(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(measurements).values(values).returning(measurements))).mappings().one()


async def meter_measurements(session: AsyncSession, meter_id: int) -> Sequence[RowMapping]:
    """The measurements a meter model has a register for, with the register."""
    stmt = (
        select(registers, measurements.c.type.label("measurement_type"))
        .join(
            measurements,
            and_(measurements.c.company_id == registers.c.company_id, measurements.c.name == registers.c.measurement),
        )
        .where(registers.c.meter_id == meter_id)
        .order_by(registers.c.measurement)
    )
    return await _all(session, stmt)


async def list_registers(session: AsyncSession, company_id: int) -> Sequence[RowMapping]:
    t = registers
    return await _all(session, select(t).where(t.c.company_id == company_id).order_by(t.c.id))


async def register_of(session: AsyncSession, meter_id: int, measurement: str) -> RowMapping | None:
    t = registers
    return await _one(session, select(t).where(t.c.meter_id == meter_id, t.c.measurement == measurement))


async def create_register(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(registers).values(values).returning(registers))).mappings().one()


# ------------------------------------------------------------------ hosts and assignments
def _hosts(companies: Sequence[int], user_id: int | None) -> Any:
    stmt = select(hosts).where(hosts.c.company_id.in_(companies))
    if user_id is not None:
        stmt = stmt.where(hosts.c.user_id == user_id)
    return stmt


async def list_hosts(session: AsyncSession, companies: Sequence[int], user_id: int | None) -> Sequence[RowMapping]:
    return await _all(session, _hosts(companies, user_id).order_by(hosts.c.id))


async def get_host(
    session: AsyncSession, companies: Sequence[int], user_id: int | None, host_id: int
) -> RowMapping | None:
    return await _one(session, _hosts(companies, user_id).where(hosts.c.id == host_id))


async def endpoint_taken(session: AsyncSession, company_id: int, ip: str, port: int, slave_address: int) -> bool:
    t = hosts
    stmt = select(t.c.id).where(
        t.c.company_id == company_id, t.c.ip == ip, t.c.port == port, t.c.slave_address == slave_address
    )
    return await _one(session, stmt) is not None


async def create_host(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    return (await session.execute(insert(hosts).values(values).returning(hosts))).mappings().one()


async def assignments(session: AsyncSession, host_id: int) -> Sequence[RowMapping]:
    t = assigned_measurements
    return await _all(session, select(t).where(t.c.host_id == host_id).order_by(t.c.id))


async def create_assignment(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    t = assigned_measurements
    return (await session.execute(insert(t).values(values).returning(t))).mappings().one()


async def delete_assignment(session: AsyncSession, assignment_id: int) -> None:
    t = assigned_measurements
    await session.execute(delete(t).where(t.c.id == assignment_id))


async def set_host_status(session: AsyncSession, host_id: int, values: dict[str, Any]) -> None:
    await session.execute(update(hosts).where(hosts.c.id == host_id).values(values))
