"""The AsyncAPI document lists every topic and event type the code publishes, for every service of
the registry (deploy/services.toml), each on its own topic prefix."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from asset_service.assets import events as asset_events
from gridcommons.events import asyncapi_payload_schemas
from gridcommons.registry import ServiceEntry, load_registry

ROOT = Path(__file__).parents[2]
DOC = yaml.safe_load((ROOT / "deploy" / "asyncapi.yaml").read_text())
REGISTRY = load_registry(ROOT)


def _modules(entry: ServiceEntry, name: str) -> list[str]:
    """The ``<name>`` modules of a service: ``<package>.<name>`` and ``<package>.<domain>.<name>``."""
    package_dir = ROOT / entry.folder / entry.package
    found = [f"{entry.package}.{name}"] if (package_dir / f"{name}.py").exists() else []
    found += [f"{entry.package}.{p.parent.name}.{name}" for p in sorted(package_dir.glob(f"*/{name}.py"))]
    return found


def _service_event_modules(entry: ServiceEntry) -> list[ModuleType]:
    """Every ``events`` module of one service of the registry."""
    modules = []
    for name in _modules(entry, "events"):
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError:
            continue
    return modules


def _event_modules() -> list[ModuleType]:
    """Every ``events`` module of every service of the registry."""
    return [module for entry in REGISTRY for module in _service_event_modules(entry)]


def _published_by(entry: ServiceEntry) -> dict[str, set[str]]:
    """{topic: {event types}} from every ``events`` module of one service."""
    out: dict[str, set[str]] = {}
    for module in _service_event_modules(entry):
        topics = getattr(module, "TOPICS", None)
        if topics is not None:  # a module publishing on several topics says which types go where
            for topic, types in topics.items():
                out.setdefault(topic, set()).update(types)
            continue
        topic = getattr(module, "TOPIC", None)
        if topic is None:
            continue
        types = {v for v in vars(module).values() if isinstance(v, str) and v.startswith("org.gridcommons.")}
        prefix = getattr(module, "_PREFIX", None)
        out.setdefault(topic, set()).update(types - ({prefix} if prefix else set()))
    return out


def _published() -> dict[str, set[str]]:
    """{topic: {event types}} of every service of the registry."""
    out: dict[str, set[str]] = {}
    for entry in REGISTRY:
        for topic, types in _published_by(entry).items():
            out.setdefault(topic, set()).update(types)
    return out


def test_every_service_publishes_on_its_own_topic_prefix() -> None:
    """What a service publishes is what its Kafka ACL (the registry's topic_prefix) lets it write."""
    found = {entry.name: _published_by(entry) for entry in REGISTRY}
    assert found["gateway"] and found["asset-service"]
    for entry in REGISTRY:
        for topic in found[entry.name]:
            assert topic.startswith(entry.topic_prefix), (entry.name, topic, entry.topic_prefix)


def test_every_published_topic_and_type_is_documented() -> None:
    published = _published()
    assert asset_events.TOPIC in published and "gateway.membership.v1" in published
    assert published["gateway.token.v1"] == {"org.gridcommons.gateway.token.revoked"}
    for topic, types in published.items():
        assert topic in DOC["channels"], topic
        documented = set()
        for message in (DOC["channels"][topic].get("messages") or {}).values():
            if "$ref" in message:
                message = DOC["components"]["messages"][message["$ref"].rsplit("/", 1)[-1]]
            documented.add(message["name"])
        assert types <= documented, (topic, types - documented)


def test_every_event_type_has_a_payload_model() -> None:
    payloads = asyncapi_payload_schemas(_event_modules())
    published = set().union(*_published().values())
    assert published == set(payloads), published ^ set(payloads)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {}).get(name) or DOC["components"]["schemas"][name]
    return schema


def _shape(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """What a consumer relies on: per property its JSON types, enum and format; the required properties."""
    schema = _resolve(schema, root)
    props = {}
    for name, prop in schema["properties"].items():
        variants = [_resolve(v, root) for v in prop.get("anyOf", [prop])]
        types: set[str] = set()
        enum: set[str] = set()
        formats = set()
        for v in variants:
            t = v.get("type")
            types.update(t if isinstance(t, list) else [t] if t else [])
            enum.update(v.get("enum", []))
            if "format" in v or "format" in prop:
                formats.add(v.get("format") or prop["format"])
        props[name] = (sorted(types), sorted(enum), sorted(formats))
    return {"properties": props, "required": sorted(schema.get("required", []))}


def _documented_data(message_name: str) -> dict[str, Any] | None:
    """The data schema the document gives a message (None when it documents only the envelope)."""
    for message in DOC["components"]["messages"].values():
        if message["name"] == message_name:
            for part in message["payload"].get("allOf", []):
                data = part.get("properties", {}).get("data")
                if data:
                    return data
    return None


def test_documented_payloads_match_the_event_models() -> None:
    """Every message whose data the document describes describes what its payload model generates."""
    payloads = asyncapi_payload_schemas(_event_modules())
    checked = []
    for name, generated in payloads.items():
        documented = _documented_data(name)
        if documented is None:
            continue
        assert _shape(documented, DOC) == _shape(generated, generated), name
        checked.append(name)
    assert {asset_events.CREATED, "org.gridcommons.gateway.token.revoked"} <= set(checked)


def test_ingestion_channels_document_the_credential_header() -> None:
    """Every ingest.* topic a service of the registry consumes is documented with the authorization header."""
    from asset_service.dispatches import workers as dispatch_workers
    from asset_service.statuses import workers as status_workers
    from gridcommons.ingest import AUTHORIZATION_HEADER, COMPANY_HEADER

    consumed = {
        topic
        for entry in REGISTRY
        for name in _modules(entry, "workers")
        if isinstance(topic := getattr(importlib.import_module(name), "TOPIC", None), str)
        and topic.startswith("ingest.")
    }
    assert {status_workers.TOPIC, dispatch_workers.TOPIC} <= consumed
    documented = {name for name in DOC["channels"] if name.startswith("ingest.")}
    assert consumed == documented
    headers = DOC["components"]["schemas"]["ingestionHeaders"]
    assert AUTHORIZATION_HEADER in headers["required"]
    assert {AUTHORIZATION_HEADER, COMPANY_HEADER} <= set(headers["properties"])
    for topic in consumed:
        messages = DOC["channels"][topic]["messages"].values()
        assert all(m["$ref"] == "#/components/messages/ingestion" for m in messages), topic


def test_replica_event_schemas_match_the_kernel_models() -> None:
    from gridcommons.replicas import MembershipChangedV1, TokenRevokedV1

    schemas = DOC["components"]["schemas"]
    assert set(schemas["tokenRevoked"]["properties"]) == set(TokenRevokedV1.model_fields)
    assert set(schemas["membershipChanged"]["properties"]) == set(MembershipChangedV1.model_fields)
