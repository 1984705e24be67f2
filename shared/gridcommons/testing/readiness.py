"""Wait for an app's /readyz: in-process workers are ready only once connected and assigned."""

from __future__ import annotations

import asyncio
import time

import httpx


async def wait_ready(client: httpx.AsyncClient, timeout: float = 60.0) -> httpx.Response:
    """GET /readyz until it answers 200 (returned); the last answer is returned after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        ready = await client.get("/readyz")
        if ready.status_code == 200 or time.monotonic() > deadline:
            return ready
        await asyncio.sleep(0.1)
