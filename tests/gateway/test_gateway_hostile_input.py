"""The gateway's own endpoints use the kernel's error model: hostile JSON is a 422, never a 500."""

from __future__ import annotations

import httpx
import pytest
from gwhelpers import unique

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_login_with_a_non_finite_number_is_a_422(client: httpx.AsyncClient, token: str) -> None:
    """Was a 500 before any authentication: the 422 handler could not render the echoed NaN."""
    r = await client.post("/auth/login", content=f'{{"username": "x", "password": {token}}}'.encode(), headers=JSON)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["type"] == "json_invalid" and err["input"] == token


async def test_login_and_register_with_lone_surrogates_are_4xx(client: httpx.AsyncClient) -> None:
    for body in (
        b'{"username": "\\ud800", "password": "whatever-pw"}',
        b'{"username": "x", "password": "\\udfff-pw"}',
        b'{"username": "x", "password": 12.5}',
    ):
        r = await client.post("/auth/login", content=body, headers=JSON)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
    r = await client.post(
        "/auth/register",
        content=b'{"username": "%s", "email": "a@example.com", "password": "\\ud800\\ud800\\ud800\\ud800"}'
        % unique("sg").encode(),
        headers=JSON,
    )
    assert 400 <= r.status_code < 500, r.text
