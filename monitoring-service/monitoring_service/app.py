"""monitoring-service: program logs, monitoring jobs, failures and their notifications (seed 004 monitoring, apis_log)."""

from fastapi import FastAPI

from gridcommons.app import create_service_app
from gridcommons.openapi import INGESTION_TAG

from .db import community_replica
from .failures.router import router as failures_router
from .jobs.router import router as jobs_router
from .logs.router import ingest_router as logs_ingest_router
from .logs.router import router as logs_router
from .notifications.router import router as notifications_router
from .settings import MonitoringSettings, load_settings
from .workers import build as build_workers

# In the order a user explores them; one line each.
TAGS = [
    {
        "name": "monitoring (staff)",
        "description": "Failures of a cluster (communityId, clusterId) and its monitoring jobs' settings, for its operators.",
    },
    {
        "name": "logs",
        "description": "Program log records of a cluster (apis-main, apis-ccc, apis-log), for its operators.",
    },
    {
        "name": "notifications",
        "description": "Who is told of failures: each community's e-mail recipients, time zone and signed webhook, "
        "and the state of every notification's delivery.",
    },
    INGESTION_TAG,
]


def create_app(settings: MonitoringSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="monitoring-service",
        title="GridCommons monitoring-service",
        description="Fleet monitoring (seed 004 monitoring, apis_log): program logs, alive and failure detection "
        "jobs, failures and their notifications (e-mail, webhooks).",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[failures_router, jobs_router, logs_router, logs_ingest_router, notifications_router],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    app.state.registry_lookup = community_replica.lookup  # the guards of gridcommons.community
    return app
