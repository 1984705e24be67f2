"""Outbox.publish_many: many events as one INSERT (and one NOTIFY), the same rows ``publish`` writes."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.db import unit_of_work
from gridcommons.events import CloudEvent

from .conftest import KernelSchema, unique

TYPE = "org.gridcommons.test.batched"


async def test_publish_many_writes_one_row_per_event_in_order(kernel_schema: KernelSchema, engine: AsyncEngine) -> None:
    ks = kernel_schema
    topic = unique("kernel.many")
    events = [("agg-b", {"n": 1, "text": "zwei"}), ("agg-a", {"n": 2, "items": [{"x": "1.5"}]}), ("agg-b", None)]

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with unit_of_work(ks.sessionmaker) as session:
            built = await ks.outbox.publish_many(session, topic=topic, type=TYPE, company_id=42, events=events)
            single = await ks.outbox.publish(
                session, topic=topic, type=TYPE, subject="agg-c", data={"n": 3}, company_id=42
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)

    assert [s.split()[0].upper() for s in statements if "outbox" in s or "pg_notify" in s] == [
        "INSERT",  # publish_many: one multi-row INSERT ...
        "SELECT",  # ... and one NOTIFY
        "INSERT",
        "SELECT",
    ]
    assert [(e.subject, e.data, e.type, e.companyid, e.source) for e in built] == [
        (subject, data, TYPE, "42", "/tests/kernel-events") for subject, data in events
    ]

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(ks.outbox.table).where(ks.outbox.table.c.topic == topic).order_by(ks.outbox.table.c.seq)
            )
        ).all()
    assert [(r.event_id, r.topic, r.key, r.published_at) for r in rows] == [
        *((e.id, topic, e.subject, None) for e in built),
        (single.id, topic, "agg-c", None),
    ]
    for row, (subject, data) in zip(rows, [*events, ("agg-c", {"n": 3})], strict=True):
        payload = row.payload
        assert payload["specversion"] == "1.0" and payload["id"] == row.event_id
        assert payload["source"] == "/tests/kernel-events" and payload["type"] == TYPE
        assert payload["subject"] == subject and payload["companyid"] == "42"
        assert payload["datacontenttype"] == "application/json"
        assert payload.get("data") == data  # exclude_none: a null data is left out, as publish does
        assert CloudEvent.model_validate(payload).id == row.event_id  # what the relay reads back
    # Same envelope keys as a single publish writes.
    assert set(rows[0].payload) == set(rows[-1].payload)


async def test_publish_many_without_events_writes_nothing(kernel_schema: KernelSchema, engine: AsyncEngine) -> None:
    ks = kernel_schema
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with unit_of_work(ks.sessionmaker) as session:
            assert await ks.outbox.publish_many(session, topic="t", type=TYPE, company_id=1, events=[]) == []
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert not [s for s in statements if "outbox" in s or "pg_notify" in s]
    async with engine.connect() as conn:
        assert (await conn.execute(select(ks.outbox.table))).all() == []
