"""Kernel event machinery against the real stack: a throwaway schema per test, an independent reader."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridcommons.db import make_engine, make_sessionmaker, schema_metadata
from gridcommons.outbox import Outbox
from gridcommons.settings import InfraSettings
from gridcommons.testing.plugin import Stack


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def infra(stack: Stack) -> InfraSettings:
    return InfraSettings()  # the plugin exported DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS


@pytest.fixture(scope="session")
async def engine(infra: InfraSettings) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(infra, application_name="kernel-events-tests")
    yield eng
    await eng.dispose()


@dataclass
class KernelSchema:
    """A test-only service schema: its outbox, processed_events and an ``effects`` table."""

    name: str
    metadata: MetaData
    outbox: Outbox
    effects: Table
    sessionmaker: async_sessionmaker[AsyncSession]


@pytest.fixture
async def kernel_schema(engine: AsyncEngine) -> AsyncIterator[KernelSchema]:
    name = f"kt_{uuid.uuid4().hex[:10]}"
    metadata = schema_metadata(name)
    outbox = Outbox(metadata, source="/tests/kernel-events")  # adds outbox + processed_events
    effects = Table(
        "effects",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(255), nullable=False),
        Column("topic", String(255), nullable=False),
        Column("kafka_offset", BigInteger, nullable=False),
        Column("body", Text, nullable=True),
    )
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield KernelSchema(name, metadata, outbox, effects, make_sessionmaker(engine))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


Record = ConsumerRecord[bytes, bytes]


async def collect(
    consumer: AIOKafkaConsumer,
    want: Callable[[Record], bool],
    *,
    count: int = 1,
    timeout: float = 20.0,
) -> list[Record]:
    """Records matching ``want`` until ``count`` of them arrived (fails after ``timeout``)."""
    got: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(got)} of {count} records within {timeout}s")
        batches = await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000))
        for records in batches.values():
            got.extend(r for r in records if want(r))
    return got


async def drain(consumer: AIOKafkaConsumer, seconds: float) -> list[Record]:
    """Everything the consumer receives in the next ``seconds``."""
    got: list[Record] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        batches = await consumer.getmany(timeout_ms=int(min(left, 0.3) * 1000) or 1)
        for records in batches.values():
            got.extend(records)
    return got


def header(msg: Record, name: str) -> bytes | None:
    for k, v in msg.headers or ():
        if k == name:
            return v
    return None


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float, step: float = 0.05) -> float:
    """Poll until ``predicate()`` is true; returns the seconds it took."""
    start = time.monotonic()
    while not await predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)
    return time.monotonic() - start
