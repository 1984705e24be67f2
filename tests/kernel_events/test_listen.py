"""gridcommons.db.listen: the one LISTEN loop (outbox relay, gateway authenticator) reconnects after
PostgreSQL ends its connection, and each (re)connection is announced so callers catch up."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.db import listen
from gridcommons.settings import InfraSettings

from .conftest import wait_for


async def test_listen_reconnects_after_the_backend_is_terminated(engine: AsyncEngine, infra: InfraSettings) -> None:
    name = f"listen-test-{uuid.uuid4().hex[:8]}"
    channel = f"listen_test_{uuid.uuid4().hex[:8]}"
    got: list[str] = []
    events: list[str] = []
    stop = asyncio.Event()

    async def notify(payload: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})

    async def backends() -> list[int]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": name})
            return [r.pid for r in rows]

    task = asyncio.create_task(
        listen(
            infra.database_url,
            channel,
            got.append,
            stop,
            name=name,
            on_connected=lambda: events.append("connected"),
            on_lost=lambda: events.append("lost"),
            retry_seconds=0.2,
        )
    )

    async def connected(n: int) -> bool:
        return events.count("connected") >= n

    try:
        await wait_for(lambda: connected(1), timeout=10)
        await notify("before")
        await wait_for(lambda: _contains(got, "before"), timeout=5)
        (first,) = await backends()

        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})).scalar() is True
        await wait_for(lambda: connected(2), timeout=10)
        assert events[:3] == ["connected", "lost", "connected"]
        (second,) = await backends()
        assert second != first  # a new connection, not the old one surviving

        await notify("after")
        await wait_for(lambda: _contains(got, "after"), timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert got == ["before", "after"]
    assert events[-1] == "lost" and await backends() == []  # closed on stop


async def _contains(items: list[str], item: str) -> bool:
    return item in items
