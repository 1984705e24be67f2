"""Database: one async engine per process (asyncpg), one session per unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .serialization import json_text
from .settings import InfraSettings

log = logging.getLogger("gridcommons.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """Each service owns one PostgreSQL schema; its tables live in this metadata."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_engine(infra: InfraSettings, application_name: str) -> AsyncEngine:
    return create_async_engine(
        infra.database_url,
        pool_size=infra.db_pool_size,
        max_overflow=infra.db_max_overflow,
        pool_recycle=1800,
        pool_pre_ping=False,
        json_serializer=json_text,
        connect_args={
            # Custom plans: asyncpg keeps prepared statements per connection, and a generic plan made
            # while a table was tiny can stay in use long after it has grown (seen on period limits).
            "server_settings": {"application_name": application_name, "plan_cache_mode": "force_custom_plan"},
            "command_timeout": 30,
            "timeout": 10,
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on any exception."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with unit_of_work(sessionmaker) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means the write is durable.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same URL in the form asyncpg.connect() takes (no '+asyncpg' driver suffix)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen(
    database_url: str,
    channel: str,
    on_notify: Callable[[str], None],
    stop: asyncio.Event,
    *,
    name: str,
    on_connected: Callable[[], None] | None = None,
    on_lost: Callable[[], None] | None = None,
    retry_seconds: float = 2.0,
) -> None:
    """LISTEN on ``channel`` until ``stop``, reconnecting whenever the connection is lost.

    ``on_notify(payload)`` runs for each notification. ``on_connected()`` runs each time the LISTEN is
    (re-)established: notifications sent while nobody listened are gone, so callers catch up there
    (a poll). ``on_lost()`` runs when a connection ends. A failed connection attempt is logged and
    retried after ``retry_seconds``; a connection the server ends (restart, ``pg_terminate_backend``)
    is replaced at once. The connection's ``application_name`` is ``name``."""
    while not stop.is_set():
        conn: asyncpg.Connection | None = None
        closed = asyncio.Event()
        try:
            conn = await asyncpg.connect(
                asyncpg_dsn(database_url), server_settings={"application_name": name[:63]}, timeout=10
            )
            conn.add_termination_listener(lambda _c, ended=closed: ended.set())
            await conn.add_listener(channel, lambda _c, _pid, _ch, payload: on_notify(payload))
            if on_connected is not None:
                on_connected()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(closed.wait())]
            try:
                while not stop.is_set() and not closed.is_set() and not conn.is_closed():
                    await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            if not stop.is_set():
                log.warning("%s: LISTEN %s connection lost; reconnecting", name, channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s: LISTEN %s connection failed (%s)", name, channel, exc.__class__.__name__)
            try:
                await asyncio.wait_for(stop.wait(), retry_seconds)
            except TimeoutError:
                pass
        finally:
            if on_lost is not None:
                on_lost()
            if conn is not None and not conn.is_closed():
                try:
                    await conn.close(timeout=2)
                except Exception:
                    conn.terminate()
