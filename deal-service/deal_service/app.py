"""deal-service: energy-sharing deals of seed 004 (ingestion, staff and resident views), downtime and availability."""

from fastapi import FastAPI

from gridcommons.app import create_service_app
from gridcommons.openapi import INGESTION_TAG

from .db import community_replica
from .deals.router import ingest_router as deals_ingest_router
from .deals.router import resident_router as deals_resident_router
from .deals.router import staff_router as deals_staff_router
from .downtime.router import router as downtime_router
from .settings import DealSettings, load_settings
from .workers import build as build_workers

# In the order a user explores them; one line each.
TAGS = [
    {
        "name": "deals (staff)",
        "description": "Energy-sharing deals of a cluster (communityId, clusterId) for its operators: live, list, range, hourly sums.",
    },
    {
        "name": "deals (resident)",
        "description": "The deals a resident's unit takes part in, other units' codes masked.",
    },
    {
        "name": "downtime (staff)",
        "description": "Downtime of a cluster's units derived from their unit data, and their availability over a window.",
    },
    INGESTION_TAG,
]


def create_app(settings: DealSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="deal-service",
        title="GridCommons deal-service",
        description="Energy-sharing deals between units (seed 004 deal): ingestion, staff and resident views; units' downtime and availability (seed 004 downtime).",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[deals_staff_router, deals_resident_router, downtime_router, deals_ingest_router],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = community_replica.lookup  # the guards of gridcommons.community
    return app
