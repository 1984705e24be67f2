"""The template's wire rules: the kernel WireModel, the fast path equal to the response model, and event
payloads that are schemas of their own with unchanged content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from asset_helpers import create_asset, iso, outbox_events
from pydantic import ValidationError

from asset_service.assets.events import AssetEventV1, AssetLifecycleChangedV1
from asset_service.reservations.events import ReservationsUpsertedV1
from asset_service.reservations.schemas import UpsertReservationsResponse
from gridcommons.serialization import matches_model
from gridcommons.testing.plugin import Stack
from gridcommons.wire import WireModel


class Sample(WireModel):
    name: str
    tags: list[str] = []
    at: datetime | None = None
    ratio: float = 0.0


def test_wire_model_house_rules() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        Sample.model_validate({"name": "a", "other": 1})
    with pytest.raises(ValidationError, match="NUL"):
        Sample(name="a\x00b")
    with pytest.raises(ValidationError, match="NUL"):
        Sample(name="a", tags=["ok", "b\x00"])
    with pytest.raises(ValidationError, match="offset"):
        Sample(name="a", at=datetime(2026, 1, 1, 8))
    with pytest.raises(ValidationError):
        Sample.model_validate({"name": "a", "ratio": float("nan")})
    at = Sample(name="a", at=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=1)))).at
    assert at == datetime(2026, 1, 1, 8, tzinfo=UTC) and at.tzinfo == UTC
    assert Sample.model_json_schema()["additionalProperties"] is False


BODY = {"code": "wire", "name": "Wire Park", "type": "BESS", "region": "DE", "delivery_area": "TNBW", "provider": "EBX"}


async def test_asset_event_data_is_unchanged(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    """The payload models write exactly what the events carried before (the asset as GET returns it)."""
    op = internal_headers(company_id, "operator")
    asset_id = await create_asset(asset_client, op, BODY)
    created = (await asset_client.get(f"/api/assets/{asset_id}", headers=op)).json()
    r = await asset_client.post(f"/api/assets/{asset_id}/actions/commission", headers=op)
    assert r.status_code == 200, r.text
    after = r.json()

    [event] = [
        e
        for e in await outbox_events(stack, company_id, "org.gridcommons.assets.asset.created")
        if e["key"] == asset_id
    ]
    assert event["data"] == created
    assert set(event["data"]) == {
        "id", "code", "name", "type", "region", "delivery_area", "lifecycle", "provider", "go_live_date",
        "created_at", "updated_at",
    }  # fmt: skip
    assert AssetEventV1.model_validate(event["data"]).model_dump(mode="json") == event["data"]

    [changed] = [
        e
        for e in await outbox_events(stack, company_id, "org.gridcommons.assets.asset.lifecycle-changed")
        if e["key"] == asset_id
    ]
    assert changed["data"] == {"asset": after, "action": "commission", "from": "DRAFT", "to": "COMMISSIONING"}
    model = AssetLifecycleChangedV1.model_validate(changed["data"])
    assert model.model_dump(mode="json", by_alias=True) == changed["data"]


async def test_fast_reservations_upsert_equals_the_response_model(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int, stack: Stack
) -> None:
    op = internal_headers(company_id, "operator")
    asset_id = await create_asset(asset_client, op, {**BODY, "code": "wire-r"})
    t0 = datetime(2026, 7, 1, 10, tzinfo=UTC)
    q = timedelta(minutes=15)
    items = [
        {
            "asset_id": asset_id,
            "start_time": iso(t0 + i * q),
            "end_time": iso(t0 + (i + 1) * q),
            "market": "DA",
            "source": "OPTIMISATION",
            "power": {"amount": "-1.50", "unit": "MW"},
            "energy_change": {"amount": 0.375, "unit": "MWh"},
            "energy_buffer_low": {"amount": 0, "unit": "MWh"},
            "energy_buffer_high": {"amount": "2.000000000000000001", "unit": "MWh"},
        }
        for i in range(3)
    ]
    r = await asset_client.post("/api/reservations", json={"reservations": items}, headers=op)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["reservations"]) == 3
    assert matches_model(UpsertReservationsResponse, body)

    events = await outbox_events(stack, company_id, "org.gridcommons.assets.reservation.upserted")
    [event] = [e for e in events if e["key"] == asset_id]
    assert event["data"] == {"asset_id": asset_id, "reservations": body["reservations"]}
    assert matches_model(ReservationsUpsertedV1, event["data"])

    # The read answers through response_model and says the same about the same rows.
    params = {"asset_ids": asset_id, "from": iso(t0), "to": iso(t0 + 3 * q)}
    read = await asset_client.get("/api/reservations", params=params, headers=op)
    assert read.status_code == 200, read.text
    assert read.json()["reservations"] == body["reservations"]


async def test_region_area_rule_is_the_services(
    asset_client: httpx.AsyncClient, internal_headers, company_id: int
) -> None:
    """A business rule, kept once in the assets service (assets and sites): 422 on delivery_area."""
    op = internal_headers(company_id, "operator")
    site = {"name": "S", "code": "s1", "region": "PL", "delivery_area": "AMPN", "dispatch_mode": {"name": "MANUAL"}}
    for path, body in (("/api/assets", {**BODY, "region": "PL"}), ("/api/sites", site)):
        r = await asset_client.post(path, json=body, headers=op)
        assert r.status_code == 422, r.text
        [error] = r.json()["detail"]
        assert error["loc"] == ["body", "delivery_area"]
        assert error["msg"] == f"delivery_area {body['delivery_area']} is not in region PL"
    assert (await asset_client.get("/api/assets", headers=op)).json()["assets"] == []
    assert (await asset_client.get("/api/sites", headers=op)).json()["sites"] == []
