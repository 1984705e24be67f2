"""Shared by the meter registry and poller tests: a company with members, the SDM models, hosts."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import httpx

from metering_service.modbus.sdm import MODELS

_users = itertools.count(900_000)


async def add_member(db: asyncpg.Connection, company_id: int, role: str = "member") -> int:
    """A gateway user in the company's membership replica; returns its id."""
    user_id = next(_users)
    await db.execute(
        "INSERT INTO metering.memberships (company_id, kind, member, role) VALUES ($1, 'user', $2, $3)",
        company_id,
        str(user_id),
        role,
    )
    return user_id


def user_headers(internal_headers: Any, company_id: int | None, user_id: int) -> dict[str, str]:
    return dict(internal_headers(company_id, "member", subject=str(user_id)))


async def create_model(client: httpx.AsyncClient, admin: dict[str, str], model: str = "sdm630") -> int:
    """The meter model with its measurements and registers (the measurements may exist already)."""
    meter_type, specs = MODELS[model]
    r = await client.post("/admin/meters", json={"name": model, "type": meter_type}, headers=admin)
    assert r.status_code == 201, r.text
    meter_id = int(r.json()["id"])
    for spec in specs:
        m = await client.post(
            "/admin/measurements", json={"measurement": spec.measurement, "type": spec.measurement_type}, headers=admin
        )
        assert m.status_code in (201, 409), m.text
        body = {
            "address": spec.address,
            "measurement": spec.measurement,
            "unit": spec.unit,
            "type": int(spec.data_type),
            "function_code": spec.function_code,
            "meter": meter_id,
        }
        reg = await client.post("/admin/registers", json=body, headers=admin)
        assert reg.status_code == 201, reg.text
    return meter_id


async def create_location(client: httpx.AsyncClient, admin: dict[str, str], user_id: int, number: str = "1") -> int:
    body = {"user": user_id, "street": "SunnyStreet", "number": number, "city": "SilliconCity", "zip_code": "11-420"}
    r = await client.post("/admin/locations", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def create_host(
    client: httpx.AsyncClient, admin: dict[str, str], *, user: int, location: int, meter: int, port: int, **extra: Any
) -> dict[str, Any]:
    body = {"ip": "127.0.0.1", "port": port, "slave_address": 1, "description": "test", "user": user,
            "location": location, "meter": meter, **extra}  # fmt: skip
    r = await client.post("/admin/hosts", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())
