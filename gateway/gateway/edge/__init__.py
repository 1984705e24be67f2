"""Gateway edge package (install + lifespan)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..settings import GatewaySettings


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Register routers and middleware."""


@asynccontextmanager
async def lifespan(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[None]:
    yield
