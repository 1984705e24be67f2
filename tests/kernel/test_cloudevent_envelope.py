"""gridcommons.events.CloudEvent: CloudEvents 1.0 structured JSON with the ``companyid`` extension."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcommons.events import CONTENT_TYPE, CloudEvent

WHEN = datetime(2026, 3, 29, 1, 15, 30, 123456, tzinfo=UTC)


def event(**overrides: object) -> CloudEvent:
    fields: dict[str, object] = {
        "source": "/services/asset-service",
        "type": "org.gridcommons.assets.asset.created",
        "subject": "DE_50HZ_WU_1",
        "companyid": "7",
        "time": WHEN,
        "data": {"id": "DE_50HZ_WU_1", "amount": "1.5", "tags": ["a", "b"], "n": 3, "ok": True, "none": None},
    }
    return CloudEvent(**(fields | overrides))


def test_wire_fields() -> None:
    e = event()
    wire = json.loads(e.to_bytes())
    assert wire == {
        "specversion": "1.0",
        "id": e.id,
        "source": "/services/asset-service",
        "type": "org.gridcommons.assets.asset.created",
        "time": "2026-03-29T01:15:30.123456Z",
        "subject": "DE_50HZ_WU_1",
        "datacontenttype": "application/json",
        "companyid": "7",
        "data": {"id": "DE_50HZ_WU_1", "amount": "1.5", "tags": ["a", "b"], "n": 3, "ok": True, "none": None},
    }
    assert CONTENT_TYPE == "application/cloudevents+json"


def test_round_trip() -> None:
    e = event()
    back = CloudEvent.from_bytes(e.to_bytes())
    assert back == e
    assert back.time == WHEN and back.time.tzinfo is not None
    assert back.to_bytes() == e.to_bytes()


def test_defaults() -> None:
    a = CloudEvent(source="/s", type="t")
    b = CloudEvent(source="/s", type="t")
    assert a.specversion == "1.0" and a.datacontenttype == "application/json"
    assert uuid.UUID(a.id) and a.id != b.id
    assert a.time.tzinfo is not None and abs(datetime.now(UTC) - a.time) < timedelta(seconds=5)
    wire = json.loads(a.to_bytes())
    # absent optional attributes are omitted, not sent as null
    assert "subject" not in wire and "companyid" not in wire and "data" not in wire
    assert CloudEvent.from_bytes(a.to_bytes()) == a


def test_extensions_survive() -> None:
    e = CloudEvent(source="/s", type="t", traceparent="00-abc-def-01")  # type: ignore[call-arg]
    back = CloudEvent.from_bytes(e.to_bytes())
    assert json.loads(back.to_bytes())["traceparent"] == "00-abc-def-01"


@pytest.mark.parametrize("missing", ["source", "type"])
def test_required_attributes(missing: str) -> None:
    wire = json.loads(event().to_bytes())
    del wire[missing]
    with pytest.raises(ValueError):
        CloudEvent.from_bytes(json.dumps(wire).encode())


def test_time_with_an_offset_is_the_same_instant() -> None:
    wire = json.loads(event().to_bytes())
    wire["time"] = "2026-03-29T03:15:30.123456+02:00"
    assert CloudEvent.from_bytes(json.dumps(wire).encode()).time == WHEN


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(
    data=json_values,
    subject=st.none() | st.text(min_size=1, max_size=40),
    companyid=st.none() | st.integers(min_value=1, max_value=10**12).map(str),
    time=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_round_trip_property(data: object, subject: str | None, companyid: str | None, time: datetime) -> None:
    e = CloudEvent(
        source="/services/x", type="org.gridcommons.x.y.z", subject=subject, companyid=companyid, time=time, data=data
    )
    back = CloudEvent.from_bytes(e.to_bytes())
    assert (back.id, back.source, back.type, back.subject, back.companyid, back.time) == (
        e.id,
        e.source,
        e.type,
        e.subject,
        e.companyid,
        e.time,
    )
    assert back.data == e.data
