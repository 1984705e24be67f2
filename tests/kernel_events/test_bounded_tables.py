"""The relay keeps the kernel tables bounded: published outbox rows and processed_events entries
past their windows are deleted, unpublished rows never, and a redelivery inside the window is skipped."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gridcommons.consumer import ConsumerRunner
from gridcommons.outbox import OutboxRelay, PruneResult
from gridcommons.settings import InfraSettings

from .conftest import KernelSchema, unique, wait_for
from .test_consumer import Recorder, effect_ids, produce, stop_runner


async def _ids(engine: AsyncEngine, ks: KernelSchema, table: str) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(text(f'SELECT event_id FROM "{ks.name}".{table}'))).scalars())


async def _count(engine: AsyncEngine, ks: KernelSchema, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f'SELECT count(*) FROM "{ks.name}".{table}'))).scalar_one())


async def test_prune_keeps_the_windows_and_never_removes_unpublished_rows(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    s = ks.name
    async with engine.begin() as conn:
        # 5 published 8 days ago (past the 7-day default), 2 published an hour ago, and 3 that were
        # never published although written 30 days ago (a broker refusing them, say).
        await conn.execute(
            text(
                f'INSERT INTO "{s}".outbox (event_id, topic, payload, created_at, published_at, attempts, last_error) '
                "SELECT 'old-' || i, 't', '{}'::jsonb, now() - interval '8 days', now() - interval '8 days', 0, NULL "
                "FROM generate_series(1, 5) i UNION ALL "
                "SELECT 'recent-' || i, 't', '{}'::jsonb, now() - interval '1 hour', now() - interval '1 hour', 0, NULL "
                "FROM generate_series(1, 2) i UNION ALL "
                "SELECT 'stuck-' || i, 't', '{}'::jsonb, now() - interval '30 days', NULL, 9, 'refused' "
                "FROM generate_series(1, 3) i"
            )
        )
        await conn.execute(
            text(
                f'INSERT INTO "{s}".processed_events (consumer, event_id, processed_at) '
                "SELECT 'c', 'p-old-' || i, now() - interval '15 days' FROM generate_series(1, 4) i UNION ALL "
                "SELECT 'c', 'p-recent-' || i, now() - interval '13 days' FROM generate_series(1, 2) i"
            )
        )
    # Batches of 2 rows: several statements per table.
    settings = infra.model_copy(update={"kernel_prune_batch_size": 2})
    assert (settings.outbox_retention_seconds, settings.processed_events_retention_seconds) == (7 * 86400, 14 * 86400)
    relay = OutboxRelay(ks.outbox, engine, settings)

    # Another replica holds the relay's lock: it is the one that prunes, this one deletes nothing.
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ks.outbox.lock_key})
        assert await relay.prune() == PruneResult(0, 0, done=True)
        await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ks.outbox.lock_key})

    assert await relay.prune() == PruneResult(outbox=5, processed_events=4, done=True)
    assert await _ids(engine, ks, "outbox") == {"recent-1", "recent-2", "stuck-1", "stuck-2", "stuck-3"}
    assert await _ids(engine, ks, "processed_events") == {"p-recent-1", "p-recent-2"}

    # Whatever the window, a row that was never published stays.
    tiny = OutboxRelay(
        ks.outbox,
        engine,
        infra.model_copy(update={"outbox_retention_seconds": 0.001, "processed_events_retention_seconds": 0.001}),
    )
    assert await tiny.prune() == PruneResult(outbox=2, processed_events=2, done=True)
    assert await _ids(engine, ks, "outbox") == {"stuck-1", "stuck-2", "stuck-3"}
    assert await _count(engine, ks, "processed_events") == 0


async def test_both_tables_stay_bounded_under_a_steady_stream(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    """Real relay, broker and consumer; windows of a second or two, pruning every 0.2 s."""
    ks = kernel_schema
    topic = unique("kernel.bounded")
    settings = infra.model_copy(
        update={
            "outbox_retention_seconds": 1.0,
            "processed_events_retention_seconds": 2.0,
            "kernel_prune_interval_seconds": 0.2,
        }
    )
    handler = Recorder(ks)
    run = ConsumerRunner(
        name=f"kernel-test-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=handler,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=settings,
    )
    stop = asyncio.Event()
    consumer = asyncio.create_task(run.run(stop))
    relay = asyncio.create_task(OutboxRelay(ks.outbox, engine, settings, poll_interval=0.2).run(stop))
    published: list[str] = []
    first_wave: set[str] = set()
    try:
        # A wave of 10 events every 0.2 s until the first wave has left both tables while the
        # stream goes on (at most 300 waves).
        for wave in range(300):
            async with ks.sessionmaker() as session, session.begin():
                ids = [
                    (
                        await ks.outbox.publish(
                            session,
                            topic=topic,
                            type="org.gridcommons.test.reading",
                            subject=f"dev-{i}",
                            data={"n": wave * 10 + i},
                            company_id=1,
                        )
                    ).id
                    for i in range(10)
                ]
            published += ids
            if wave == 0:
                first_wave = set(ids)
            elif wave >= 5:
                in_outbox = await _ids(engine, ks, "outbox")
                processed = await _ids(engine, ks, "processed_events")
                if (
                    not (first_wave & in_outbox)
                    and not (first_wave & processed)
                    and first_wave <= set(await effect_ids(engine, ks))
                ):
                    break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the first wave never left the kernel tables")
        # The tables hold less than what went through them.
        assert await _count(engine, ks, "outbox") < len(published)
        assert await _count(engine, ks, "processed_events") < len(published)

        # The stream stops: every event is handled once, then both tables empty out.
        async def all_handled() -> bool:
            return set(published) <= set(await effect_ids(engine, ks))

        await wait_for(all_handled, timeout=60)

        async def both_empty() -> bool:
            return await _count(engine, ks, "outbox") == 0 and await _count(engine, ks, "processed_events") == 0

        await wait_for(both_empty, timeout=30)
    finally:
        await stop_runner(stop, consumer, 10)
        await asyncio.wait_for(relay, 10)
    assert sorted(await effect_ids(engine, ks)) == sorted(published)
    assert set(handler.calls.values()) == {1}


async def test_a_redelivery_inside_the_dedup_window_is_skipped_after_pruning(
    kernel_schema: KernelSchema, engine: AsyncEngine, infra: InfraSettings
) -> None:
    ks = kernel_schema
    topic = unique("kernel.redelivered")
    settings = infra.model_copy(
        update={
            "outbox_retention_seconds": 0.5,
            "processed_events_retention_seconds": 3600.0,
            "kernel_prune_interval_seconds": 0.2,
        }
    )
    handler = Recorder(ks)
    run = ConsumerRunner(
        name=f"kernel-test-{uuid.uuid4().hex[:8]}",
        topics=(topic,),
        handler=handler,
        sessionmaker=ks.sessionmaker,
        outbox=ks.outbox,
        infra=settings,
    )
    stop = asyncio.Event()
    consumer = asyncio.create_task(run.run(stop))
    relay = asyncio.create_task(OutboxRelay(ks.outbox, engine, settings, poll_interval=0.2).run(stop))
    try:
        async with ks.sessionmaker() as session, session.begin():
            event = await ks.outbox.publish(
                session, topic=topic, type="org.gridcommons.test.reading", subject="dev-1", data={"n": 1}, company_id=1
            )

        async def handled_and_pruned() -> bool:
            return event.id in await effect_ids(engine, ks) and await _count(engine, ks, "outbox") == 0

        await wait_for(handled_and_pruned, timeout=60)  # the relay pruned its published row

        # The same event again (a relay re-sent it, an offset was reset), then a marker.
        marker = await _publish_raw_after(infra, topic, event.to_bytes(), event.id)

        async def marker_handled() -> bool:
            return marker in await effect_ids(engine, ks)

        await wait_for(marker_handled, timeout=30)
    finally:
        await stop_runner(stop, consumer, 10)
        await asyncio.wait_for(relay, 10)
    assert await effect_ids(engine, ks) == [event.id, marker]
    assert await _ids(engine, ks, "processed_events") == {event.id, marker}
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(ks.effects))).scalar_one() == 2


async def _publish_raw_after(infra: InfraSettings, topic: str, value: bytes, ce_id: str) -> str:
    from gridcommons.events import CloudEvent

    marker = CloudEvent(source="/tests/producer", type="org.gridcommons.test.reading", subject="dev-1", data={"n": 2})
    await produce(topic, [(b"dev-1", value, ce_id), (b"dev-1", marker.to_bytes(), marker.id)], infra=infra)
    return marker.id
