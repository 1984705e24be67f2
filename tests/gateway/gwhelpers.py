"""Helpers of the gateway tests (imported by name: test directories are not packages)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

SUPERUSER = ("gw-test-root", "gw-test-root-pass")
_addresses = itertools.count(1)


def client_for(app: FastAPI, address: str | None = None) -> httpx.AsyncClient:
    """A client with its own source address, so that failed-login counters do not leak between tests."""
    n = next(_addresses)
    address = address or f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def register(
    client: httpx.AsyncClient, username: str | None = None, password: str = "long-enough-pw"
) -> dict[str, Any]:
    username = username or unique()
    r = await client.post(
        "/auth/register", json={"username": username, "email": f"{username}@example.com", "password": password}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    body["password"] = password
    return body


async def superuser_token(client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/auth/token", data={"grant_type": "password", "username": SUPERUSER[0], "password": SUPERUSER[1]}
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def make_company(client: httpx.AsyncClient, su_token: str) -> dict[str, Any]:
    """A fresh company with an admin, an operator and a member."""
    r = await client.post("/api/gateway/companies", json={"name": unique("company")}, headers=bearer(su_token))
    assert r.status_code == 201, r.text
    company = r.json()
    people: dict[str, Any] = {}
    for role in ("admin", "operator", "member"):
        user = await register(client)
        r = await client.put(
            f"/api/gateway/companies/{company['id']}/members/{user['user']['id']}",
            json={"role": role},
            headers=bearer(su_token),
        )
        assert r.status_code == 200, r.text
        people[role] = user
    return {"company": company, "id": company["id"], "superuser": su_token, **people}
