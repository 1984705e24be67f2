"""Database: one async engine per process (asyncpg), one session per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from .settings import InfraSettings

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


def declarative_base(schema: str) -> type[DeclarativeBase]:
    md = schema_metadata(schema)

    class Base(DeclarativeBase):
        metadata = md

    return Base


def make_engine(infra: InfraSettings, application_name: str) -> AsyncEngine:
    return create_async_engine(
        infra.database_url,
        pool_size=infra.db_pool_size,
        max_overflow=infra.db_max_overflow,
        pool_recycle=1800,
        pool_pre_ping=False,
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


def row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)
