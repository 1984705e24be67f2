"""metering-service: series of readings and their ingestion (HTTP batch and Kafka)."""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gridcommons.app import create_service_app
from gridcommons.openapi import INGESTION_TAG

from .balance.router import router as balance_router
from .db import community_replica
from .imports.router import router as imports_router
from .meters.router import admin_router as meters_admin_router
from .meters.router import user_router as meters_user_router
from .readings.router import ingest_router as readings_ingest_router
from .readings.router import router as readings_router
from .readings.schemas import IngestReadingsRequest
from .series.router import router as series_router
from .settings import MeteringSettings, load_settings
from .unit_data import router as unit_data
from .unit_data.schemas import IngestUnitDataRequest
from .workers import build as build_workers

# In the order an operator explores them; one line each.
TAGS = [
    {
        "name": "series",
        "description": "Series of readings: what is measured, its kind, unit, calendar and external key.",
    },
    {
        "name": "readings",
        "description": "Readings of a series: raw (instant, value, quality), one page at a time, or rolled up per "
        "quarter hour, hour, local day or month with their coverage.",
    },
    {
        "name": "energy balance",
        "description": "Production against consumption per quarter hour: self-consumed, exported, from the grid.",
    },
    {
        "name": "imports",
        "description": "CSV imports of readings into a series (backfills of millions of rows) and their progress.",
    },
    {
        "name": "unit data",
        "description": "Unit telemetry (seed 004 unitData): the newest reports of a cluster's units, for staff "
        "and for a unit's residents.",
    },
    INGESTION_TAG,
    {
        "name": "meter registry",
        "description": "A user's locations, hosts (Modbus TCP meters) and the measurements polled on them; meter models.",
    },
    {
        "name": "meter registry admin",
        "description": "The company admin's views: locations, hosts, meter models, measurements and registers.",
    },
]


def _document_request_bodies(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Add the schemas of request bodies that a route parses itself (and declares by ``$ref`` in its
    ``openapi_extra``) to the document's components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            _, defs = models_json_schema(
                [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
            )
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in defs.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: MeteringSettings | None = None, *, run_workers_in_process: bool = False) -> FastAPI:
    app = create_service_app(
        name="metering-service",
        title="GridCommons metering-service",
        description="Meters and their readings (seeds 001, 003, 004 unitData): series of readings, their "
        "ingestion (HTTP batch and Kafka) and raw reads.",
        settings=settings or load_settings(),
        tags=TAGS,
        routers=[
            series_router,
            readings_router,
            balance_router,
            readings_ingest_router,
            unit_data.staff_router,
            unit_data.resident_router,
            unit_data.ingest_router,
            imports_router,
            meters_user_router,
            meters_admin_router,
        ],
        workers=build_workers,
        run_workers_in_process=run_workers_in_process,
    )
    _document_request_bodies(app, [IngestReadingsRequest, IngestUnitDataRequest])
    app.state.registry_lookup = community_replica.lookup  # the guards of gridcommons.community
    return app
