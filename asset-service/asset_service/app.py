from fastapi import FastAPI

from gridcommons.app import create_service_app
from gridcommons.openapi import INGESTION_TAG

from .assets.router import lifecycle_router
from .assets.router import router as assets_router
from .dispatches.router import router as dispatches_router
from .forecasts.router import router as forecasts_router
from .limits.router import router as limits_router
from .reservations.router import router as reservations_router
from .settings import AssetSettings, load_settings
from .sites.router import router as sites_router
from .snapshots.router import router as snapshots_router
from .specs.router import router as specs_router
from .statuses.router import ingest_router as statuses_ingest_router
from .statuses.router import router as statuses_router
from .workers import build as build_workers

# In the order an operator explores them; one line each.
TAGS = [
    {
        "name": "assets",
        "description": "The asset master: one record per asset (BESS, virtual battery, PV, swaps, colocations) of this company.",
    },
    {
        "name": "asset lifecycle",
        "description": "Move an asset DRAFT → COMMISSIONING → LIVE ⇄ SUSPENDED, LIVE → DECOMMISSIONED.",
    },
    {
        "name": "sites",
        "description": "Grid connection sites with their inverters and point-of-connection (PoC) limits.",
    },
    {
        "name": "specs",
        "description": "Versioned technical specifications of an asset (capacities, efficiencies, validity).",
    },
    {
        "name": "statuses",
        "description": "Operational status of assets over time (AVAILABLE, LIMITED, UNAVAILABLE, OFFLINE...).",
    },
    {"name": "limits", "description": "Operating limits of assets per 15-minute period, by source."},
    {"name": "forecasts", "description": "Forecasts per asset and 15-minute period."},
    {"name": "reservations", "description": "Capacity reserved per asset, market and 15-minute period."},
    {
        "name": "state snapshots",
        "description": "Measured states of assets (e.g. state of charge), with derived energy.",
    },
    {"name": "dispatches", "description": "History of dispatch commands received for assets (read-only here)."},
    INGESTION_TAG,
]


def create_app(settings: AssetSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    return create_service_app(
        name="asset-service",
        title="GridCommons asset-service",
        description="Asset master (seed 002): assets and lifecycle, statuses, dispatch history, state snapshots, "
        "period limits, forecasts, reservations, technical specs, sites, inverters and PoC limits.",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[
            assets_router,
            lifecycle_router,
            statuses_router,
            statuses_ingest_router,
            dispatches_router,
            snapshots_router,
            limits_router,
            forecasts_router,
            reservations_router,
            specs_router,
            sites_router,
        ],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
