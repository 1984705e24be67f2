"""community-service: skeleton (ops endpoints only; the domain routers come with their slices)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .registry.lookup import OwnRegistryLookup
from .scenarios.router import admin_router as scenarios_admin_router
from .scenarios.router import device_router as scenarios_device_router
from .scenarios.router import resident_router as scenarios_resident_router
from .settings import CommunitySettings, load_settings
from .workers import build as build_workers

# In the order a user explores them; one line each.
TAGS = [
    {
        "name": "scenarios",
        "description": "Staff: the scenarios (device operating documents) offered to units, and each unit's choices.",
    },
    {
        "name": "resident scenarios",
        "description": "Residents: the scenarios a unit may choose, its current one, and choosing (seed 004).",
    },
    {
        "name": "device scenarios",
        "description": "Devices (form credentials): the unit's current scenario document, and uploading its own.",
    },
]


def create_app(settings: CommunitySettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="community-service",
        title="GridCommons community-service",
        description="Communities, clusters, units, scenarios and energy-community services (seeds 000, 004 community, scenario).",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[scenarios_admin_router, scenarios_resident_router, scenarios_device_router],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = OwnRegistryLookup()  # the guards of gridcommons.community read the own tables
    return app
