"""monitoring-service: notifications of failures (the other domain routers come with their slices)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app

from .db import community_replica
from .notifications.router import router as notifications_router
from .settings import MonitoringSettings, load_settings
from .workers import build as build_workers

# In the order a user explores them; one line each.
TAGS = [
    {
        "name": "notifications",
        "description": "Who is told of failures: each community's e-mail recipients, time zone and signed webhook, "
        "and the state of every notification's delivery.",
    },
]


def create_app(settings: MonitoringSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="monitoring-service",
        title="GridCommons monitoring-service",
        description="Fleet monitoring (seed 004 monitoring, apis_log): jobs, failures, notifications, ingested program logs.",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[notifications_router],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = community_replica.lookup  # the guards of gridcommons.community
    return app
