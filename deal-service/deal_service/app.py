"""deal-service: skeleton (ops endpoints only; the domain routers come with their slices)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .db import community_replica
from .settings import DealSettings, load_settings
from .workers import build as build_workers


def create_app(settings: DealSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="deal-service",
        title="GridCommons deal-service",
        description="Energy-sharing deals between units, downtime and availability ratios (seed 004 deal, downtime).",
        settings=settings or load_settings(),
        routers=[],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = community_replica.lookup  # the guards of gridcommons.community
    return app
