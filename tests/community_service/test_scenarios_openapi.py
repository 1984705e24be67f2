"""community-service's own OpenAPI document for the scenario operations: everything described, request
examples valid, the device doors declared as form bodies and their plain-text and raw answers."""

from __future__ import annotations

from typing import Any

from gateway_edge.test_openapi_descriptions import undescribed
from gateway_edge.test_openapi_examples import invalid_examples

from community_service.app import create_app

FORM = "application/x-www-form-urlencoded"


def _doc() -> dict[str, Any]:
    return create_app().openapi()


def test_every_field_parameter_and_value_is_described() -> None:
    # ErrorBody is the kernel's error body, described when the gateway merges the documents.
    assert [m for m in undescribed(_doc()) if not m.startswith("ErrorBody.")] == []


def test_request_examples_are_valid() -> None:
    assert invalid_examples(_doc()) == []


def test_device_doors_take_forms_and_answer_as_devices_expect() -> None:
    doc = _doc()
    schemas = doc["components"]["schemas"]
    for door, fields in (
        ("currentData", {"communityId", "clusterId", "unitId", "isMD5Password"}),
        ("update", {"communityId", "clusterId", "unitId", "isMD5Password", "name", "description", "data"}),
    ):
        op = doc["paths"][f"/api/misc/scenario/{door}"]["post"]
        assert list(op["requestBody"]["content"]) == [FORM]
        ref = op["requestBody"]["content"][FORM]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(schemas[ref]["properties"]) == fields
    current = doc["paths"]["/api/misc/scenario/currentData"]["post"]["responses"]["200"]
    assert list(current["content"]) == ["application/json", "text/plain"]
    update = doc["paths"]["/api/misc/scenario/update"]["post"]["responses"]["200"]["content"]["text/plain"]["schema"]
    assert update["enum"] == ["created", "updated"]
    choose = doc["paths"]["/api/resident/scenario/choose"]
    assert set(choose) == {"get", "post"}
    assert choose["post"]["responses"]["200"]["content"]["text/plain"]["schema"]["enum"] == ["ok", "no change"]
    tags = [t["name"] for t in doc["tags"]]
    assert {"scenarios", "resident scenarios", "device scenarios"} <= set(tags)
