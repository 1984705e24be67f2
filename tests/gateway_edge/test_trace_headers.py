"""W3C trace context at the gateway's edge (export off, the default): the upstream always gets a
valid ``traceparent`` of the gateway's proxy span, continuing the client's trace when the client
sent a valid one, a new trace otherwise; an invalid one is ignored, never an error."""

from __future__ import annotations

import re

from .conftest import Edge, bearer
from .test_proxy import received

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_PARENT = "00f067aa0ba902b7"


async def caller(edge: Edge) -> dict[str, str]:
    """The superuser's (cached) token and a new company: no new login, which other tests of the
    session may have throttled for this address."""
    return {**bearer(await edge.superuser_token()), "CompanyID": str(await edge.company())}


def upstream_context(response) -> tuple[str, str]:
    seen = received(response)
    assert len(seen["traceparent"]) == 1, seen["traceparent"]
    match = TRACEPARENT.match(seen["traceparent"][0])
    assert match, seen["traceparent"]
    assert match.group(1) != "0" * 32 and match.group(2) != "0" * 16
    return match.group(1), match.group(2)


async def test_client_trace_continues_upstream(edge: Edge) -> None:
    h = await caller(edge)
    r = await edge.client.get(
        "/api/staff/monitoring/trace",
        headers={**h, "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01", "tracestate": "vendor=abc"},
    )
    assert r.status_code == 200, r.text
    trace_id, parent = upstream_context(r)
    assert trace_id == CLIENT_TRACE
    assert parent != CLIENT_PARENT  # the proxy's own span, a child of the gateway's request span
    assert received(r)["tracestate"] == ["vendor=abc"]


async def test_missing_or_invalid_traceparent_starts_a_trace(edge: Edge) -> None:
    h = await caller(edge)
    r = await edge.client.get("/api/staff/monitoring/trace", headers=h)
    assert r.status_code == 200, r.text
    first, _ = upstream_context(r)
    again, _ = upstream_context(await edge.client.get("/api/staff/monitoring/trace", headers=h))
    assert first != again  # one trace per request
    invalid = [
        "garbage",
        f"00-{'0' * 32}-{CLIENT_PARENT}-01",  # all-zero trace id
        f"00-{CLIENT_TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{CLIENT_TRACE}-{CLIENT_PARENT}-01",  # forbidden version
        f"00-{CLIENT_TRACE.upper()}-{CLIENT_PARENT}-01",  # upper case
        f"00-{CLIENT_TRACE}-{CLIENT_PARENT}",
        "00-" + "é" * 32 + f"-{CLIENT_PARENT}-01",
    ]
    for value in invalid:
        r = await edge.client.get("/api/staff/monitoring/trace", headers={**h, "traceparent": value.encode()})
        assert r.status_code == 200, (value, r.text)
        trace_id, _ = upstream_context(r)
        assert trace_id != CLIENT_TRACE, value
    # Also on a request the gateway refuses (401): no error from the header, the usual answer.
    r = await edge.client.get("/api/assets", headers={"traceparent": "garbage", "CompanyID": h["CompanyID"]})
    assert r.status_code == 401
