"""The contract run's common part: a merged OpenAPI document cut to the paths a test serves, its
operations by label, and the checks every response must pass (no 5xx, the documented schema,
status code and content type). Imports schemathesis on use: only the contract tests need it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def contract_operations(doc: dict[str, Any], prefixes: Iterable[str]) -> dict[str, Any]:
    """{``"METHOD /path"``: schemathesis operation} of the document's paths under ``prefixes``."""
    import schemathesis
    from schemathesis.core.result import Err

    kept = tuple(prefixes)
    doc = {**doc, "paths": {p: v for p, v in doc["paths"].items() if p.startswith(kept)}}
    operations = {}
    for result in schemathesis.openapi.from_dict(doc).get_all_operations():
        if isinstance(result, Err):  # a document schemathesis cannot read is a failed contract
            raise AssertionError(f"an operation of the document is invalid: {result.err()}")
        operation = result.ok()
        operations[operation.label] = operation
    return operations


def contract_checks() -> list[Any]:
    """What every response of a contract run is checked for."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks as oa_checks

    return [
        not_a_server_error,
        oa_checks.response_schema_conformance,
        oa_checks.status_code_conformance,
        oa_checks.content_type_conformance,
    ]
