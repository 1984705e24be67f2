"""OpenAPI pieces shared by every service's document (merged by the gateway into ``/openapi.json``).

Each service declares its tags (name + one-line description, in the order a user explores them)
through ``create_service_app(tags=...)``; the ingestion doors of every service share one tag.
"""

from __future__ import annotations

INGESTION_TAG = {
    "name": "ingestion",
    "description": "Batches pushed by devices and external systems (machine clients): one door per kind, "
    "also reachable on Kafka as ingest.<kind>.v1 with the same payload.",
}
