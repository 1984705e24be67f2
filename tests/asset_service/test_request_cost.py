"""Per-request cost: the kernel's request dependencies (identity, tenant, roles, page) run on the
event loop, not in FastAPI's worker threads (each thread hand-off costs more CPU than the check)."""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
import httpx

BODY = {
    "code": "rc",
    "name": "Request cost",
    "type": "BESS",
    "region": "DE",
    "delivery_area": "50HZ",
    "provider": "ENTELIOS",
}


async def test_reads_need_no_worker_thread(asset_client: httpx.AsyncClient, internal_headers, company_id: int) -> None:
    op = internal_headers(company_id, "operator")
    created = await asset_client.post("/api/assets", json=BODY, headers=op)
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]

    # Occupy the only worker thread: a request whose dependencies need one would wait for it.
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    limiter.total_tokens = 1
    gate = threading.Event()
    blocker = asyncio.ensure_future(anyio.to_thread.run_sync(gate.wait))
    try:
        while limiter.borrowed_tokens < 1:
            await asyncio.sleep(0.01)
        one = asyncio.ensure_future(asset_client.get(f"/api/assets/{asset_id}", headers=op))
        page = asyncio.ensure_future(asset_client.get("/api/assets", params={"limit": 5}, headers=op))
        done, _ = await asyncio.wait([one, page], timeout=15)
        finished = {"one": one in done, "page": page in done}
    finally:
        gate.set()
        await blocker
        limiter.total_tokens = tokens
    assert finished == {"one": True, "page": True}
    assert one.result().status_code == 200 and one.result().json()["id"] == asset_id
    assert page.result().status_code == 200 and asset_id in [a["id"] for a in page.result().json()["assets"]]
    # a missing identity is still refused, and another tenant's asset is a 404
    assert (await asset_client.get(f"/api/assets/{asset_id}")).status_code == 401
    other = internal_headers(company_id + 1, "operator")
    assert (await asset_client.get(f"/api/assets/{asset_id}", headers=other)).status_code == 404
