"""Check a real Kafka record against the AsyncAPI document (``deploy/asyncapi.yaml``): its value against the
message's payload schema, its headers against the message's headers schema. Tests call it on records the
services really wrote, so the document is held to what travels, not only to the models it came from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from ..registry import repo_root


@cache
def asyncapi_document(root: Path | None = None) -> dict[str, Any]:
    return yaml.safe_load(((root or repo_root()) / "deploy" / "asyncapi.yaml").read_text())


def _errors(document: dict[str, Any], pointer: str, instance: Any) -> list[str]:
    # The schema is a reference into the document, so every "#/components/..." inside it resolves.
    schema = {"components": document["components"], "$ref": pointer}
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return ["/" + "/".join(map(str, e.instance_path)) + f": {e.message}" for e in validator.iter_errors(instance)]


def record_errors(
    message: str,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None = (),
    *,
    document: dict[str, Any] | None = None,
) -> list[str]:
    """What the document's message ``message`` (its key under ``components.messages``: the event type,
    ``ingest.<kind>`` or ``deadLetter``) refuses in a record; ``[]`` when it matches."""
    document = document or asyncapi_document()
    spec = document["components"]["messages"][message]
    pointer = f"#/components/messages/{message.replace('~', '~0').replace('/', '~1')}"
    problems = [f"headers{e}" for e in _errors(document, f"{pointer}/headers", _headers(headers))]
    if spec.get("contentType") != "application/octet-stream":  # a dead letter's value is anything
        try:
            payload = json.loads(value or b"")
        except ValueError:
            return [*problems, "value: not JSON"]
        problems += [f"value{e}" for e in _errors(document, f"{pointer}/payload", payload)]
    return problems


def _headers(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str | None]:
    return {name: None if raw is None else raw.decode() for name, raw in headers or ()}
