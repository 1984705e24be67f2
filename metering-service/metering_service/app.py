"""metering-service: skeleton (ops endpoints only; the domain routers come with their slices)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .settings import MeteringSettings, load_settings
from .workers import build as build_workers


def create_app(settings: MeteringSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    return create_service_app(
        name="metering-service",
        title="GridCommons metering-service",
        description="Meters and their readings (seeds 001, 003, 004 unitData): meter register, usage points, readings, unit telemetry, ingestion and aggregation.",
        settings=settings or load_settings(),
        routers=[],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
