"""community-service: skeleton (ops endpoints only; the domain routers come with their slices)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .registry.lookup import OwnRegistryLookup
from .settings import CommunitySettings, load_settings
from .workers import build as build_workers


def create_app(settings: CommunitySettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="community-service",
        title="GridCommons community-service",
        description="Communities, clusters, units, scenarios and energy-community services (seeds 000, 004 community, scenario).",
        settings=settings or load_settings(),
        routers=[],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = OwnRegistryLookup()  # the guards of gridcommons.community read the own tables
    return app
