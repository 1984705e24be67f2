"""community-service: the community registry (communities, clusters, units, residents), its outlines, and the scenarios offered to units."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .registry.lookup import OwnRegistryLookup
from .registry.router import (
    clusters_router,
    communities_router,
    outline_router,
    residents_router,
    units_router,
)
from .scenarios.router import admin_router as scenarios_admin_router
from .scenarios.router import device_router as scenarios_device_router
from .scenarios.router import resident_router as scenarios_resident_router
from .settings import CommunitySettings, load_settings
from .workers import build as build_workers

# In the order an operator explores them; one line each.
TAGS = [
    {
        "name": "community outline",
        "description": "Communities → clusters → units as staff and residents see them (seed 004's outline).",
    },
    {"name": "communities", "description": "The company's energy communities (codes unique in the company)."},
    {"name": "clusters", "description": "Clusters of units within a community."},
    {"name": "units", "description": "Units (households, devices) of a cluster, with their availability window."},
    {"name": "unit residents", "description": "Members linked to a unit: the residents who see it."},
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
        routers=[
            outline_router,
            communities_router,
            clusters_router,
            units_router,
            residents_router,
            scenarios_admin_router,
            scenarios_resident_router,
            scenarios_device_router,
        ],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = OwnRegistryLookup()  # the guards of gridcommons.community read the own tables
    return app
