"""The AsyncAPI document lists every topic and event type the code publishes."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from asset_service.assets import events as asset_events
from asset_service.assets.schemas import AssetResponse

DOC = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "asyncapi.yaml").read_text())


def _published() -> dict[str, set[str]]:
    """{topic: {event types}} from every ``events`` module of asset-service and the gateway."""
    out: dict[str, set[str]] = {}
    package_dir = Path(asset_events.__file__).parents[1]
    modules = [f"asset_service.{p.parent.name}.events" for p in sorted(package_dir.glob("*/events.py"))]
    modules.append("gateway.auth.events")
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
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


def test_asset_schema_matches_the_wire_model() -> None:
    documented = DOC["components"]["schemas"]["asset"]
    assert set(documented["properties"]) == set(AssetResponse.model_fields)
    assert DOC["components"]["messages"]["assetCreated"]["name"] == asset_events.CREATED


def test_ingestion_channels_document_the_credential_header() -> None:
    """Every ingest.* topic a service consumes is documented with the authorization header."""
    from asset_service.dispatches import workers as dispatch_workers
    from asset_service.statuses import workers as status_workers
    from gridcommons.ingest import AUTHORIZATION_HEADER, COMPANY_HEADER

    consumed = {status_workers.TOPIC, dispatch_workers.TOPIC}
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
