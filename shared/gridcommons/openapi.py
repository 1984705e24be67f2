"""OpenAPI pieces shared by every service's document (merged by the gateway into ``/openapi.json``).

Each service declares its tags (name + one-line description, in the order a user explores them)
through ``create_service_app(tags=...)``; the ingestion doors of every service share one tag.
"""

from __future__ import annotations

from typing import Any

INGESTION_TAG = {
    "name": "ingestion",
    "description": "Batches pushed by devices and external systems (machine clients): one door per kind, "
    "also reachable on Kafka as ingest.<kind>.v1 with the same payload.",
}


def describe_validation_errors() -> None:
    """Explain the fields of FastAPI's ``HTTPValidationError`` / ``ValidationError`` components (the
    422 body of every operation). FastAPI builds them from two module-level definitions; describing
    them there, once at import, gives every document of the platform the same text, so the gateway's
    merge shares them instead of renaming a differing copy."""
    from fastapi.openapi import utils

    fields = {
        "loc": "Where the error is: `body`, `query`, `path` or `header`, then the field names and list indexes "
        'leading to the value (e.g. `["body", "limits", 3, "start_time"]`).',
        "msg": "What is wrong with the value, in words.",
        "type": "Machine-readable error type (e.g. `missing`, `string_too_long`, `value_error`, `json_invalid`).",
        "input": "The value that was refused (absent when the field is missing).",
        "ctx": "Details of the rule that failed (e.g. the limit of a too long string).",
    }
    props: dict[str, dict[str, Any]] = utils.validation_error_definition["properties"]  # type: ignore[assignment]
    for name, text in fields.items():
        props[name]["description"] = text
    utils.validation_error_definition["description"] = "One refused value of a request."
    response: dict[str, Any] = utils.validation_error_response_definition  # type: ignore[assignment]
    detail = response["properties"]["detail"]
    detail["description"] = "Every refused value of the request, one entry each."
    response["description"] = "The request was refused before anything changed: every refused value is listed."


describe_validation_errors()
