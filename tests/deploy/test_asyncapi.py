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
