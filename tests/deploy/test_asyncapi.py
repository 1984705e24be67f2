"""The AsyncAPI document lists every topic the code publishes, with the asset payload's fields."""

from __future__ import annotations

from pathlib import Path

import yaml

from asset_service.assets import events as asset_events
from asset_service.assets.schemas import AssetResponse

DOC = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "asyncapi.yaml").read_text())


def test_every_published_topic_is_documented() -> None:
    assert asset_events.TOPIC in DOC["channels"]
    assert "gateway.membership.v1" in DOC["channels"]


def test_asset_schema_matches_the_wire_model() -> None:
    documented = DOC["components"]["schemas"]["asset"]
    assert set(documented["properties"]) == set(AssetResponse.model_fields)
    assert DOC["components"]["messages"]["assetCreated"]["name"] == asset_events.CREATED
