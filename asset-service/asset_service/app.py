from fastapi import FastAPI

from gridcommons.app import create_service_app

from .assets.router import router as assets_router
from .dispatches.router import router as dispatches_router
from .forecasts.router import router as forecasts_router
from .limits.router import router as limits_router
from .reservations.router import router as reservations_router
from .settings import AssetSettings, load_settings
from .sites.router import router as sites_router
from .snapshots.router import router as snapshots_router
from .specs.router import router as specs_router
from .statuses.router import router as statuses_router
from .workers import build as build_workers


def create_app(settings: AssetSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    return create_service_app(
        name="asset-service",
        title="GridCommons asset-service",
        description="Asset master (seed 002): assets and lifecycle, statuses, dispatch history, state snapshots, "
        "period limits, forecasts, reservations, technical specs, sites, inverters and PoC limits.",
        settings=settings or load_settings(),
        routers=[
            assets_router,
            statuses_router,
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
