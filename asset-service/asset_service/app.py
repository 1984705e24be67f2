from fastapi import FastAPI

from gridcommons.app import create_service_app

from .assets.router import router as assets_router
from .settings import AssetSettings, load_settings
from .workers import build as build_workers


def create_app(settings: AssetSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    return create_service_app(
        name="asset-service",
        title="GridCommons asset-service",
        description="Asset master (seed 002): assets and their lifecycle.",
        settings=settings or load_settings(),
        routers=[assets_router],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
