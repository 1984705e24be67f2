# ruff: noqa: F811  (the fixture imported from test_deals_gateway is a test parameter)
"""Downtime through the served gateway in front of the served deal-service: staff read the three downtime
operations with bearer tokens (a resident and a machine client are refused), the merged OpenAPI document
describes them, and an SDK generated from it reads them with typed answers."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from downtime_helpers import at, feed, register_units, sample
from gateway_edge.conftest import Edge
from gateway_edge.test_openapi_descriptions import undescribed
from gateway_edge.test_sdk import PACKAGE, generate_sdk
from test_deals_gateway import deal_edge, deal_world  # noqa: F401

BASE = "/api/staff/downtime"


async def _world(edge: Edge) -> tuple[int, Any, dict[str, dict[str, str]]]:
    company, _, headers = await deal_world(edge)
    cl = await register_units(edge.deal_app, company, ["G1", "G2"])  # type: ignore[attr-defined]
    samples = [sample(cl, "G1", t, m) for t, m in [(0, "autonomous"), (30, "stop"), (90, "autonomous")]]
    await feed(edge.deal_app, company, samples + [sample(cl, "G2", 0)])  # type: ignore[attr-defined]
    return company, cl, headers


async def test_downtime_through_the_gateway(deal_edge: Edge) -> None:
    c = deal_edge.client
    _, cl, h = await _world(deal_edge)
    window = {"datetimeFrom": at(0).isoformat(), "datetimeTo": at(3600).isoformat()}
    r = await c.get(f"{BASE}/unitIdList", params={**cl.cc(), **window}, headers=h["operator"])
    assert (r.status_code, r.json()) == (200, ["G1", "G2"])
    r = await c.get(f"{BASE}/list", params={**cl.cc(), "unitId": "G1"}, headers=h["admin"])
    assert r.json() == [
        {
            "communityId": cl.community,
            "clusterId": cl.cluster,
            "unitId": "G1",
            "downDateTime": "2025-01-01T00:00:30Z",
            "recoveryDateTime": "2025-01-01T00:01:30Z",
        }
    ]
    r = await c.get(f"{BASE}/availability", params={**cl.cc(), **window}, headers=h["operator"])
    assert r.status_code == 200, r.text
    assert {u["unitId"]: u["downtimeSeconds"] for u in r.json()["units"]} == {"G1": 60.0, "G2": 0.0}
    assert r.json()["cluster"]["ratio"] == (7200 - 60) / 7200
    r = await c.get(f"{BASE}/list", params=cl.cc(), headers=h["member"])
    assert (r.status_code, r.json()) == (403, {"detail": "staff required"})
    r = await c.get(f"{BASE}/list", params=cl.cc(), headers=h["device"])
    assert r.status_code in (400, 403)  # a machine client is no staff (and has no tenant header)
    doc = (await c.get("/openapi.json")).json()
    for path in ("unitIdList", "list", "availability"):
        assert f"{BASE}/{path}" in doc["paths"], path
    assert undescribed(doc) == []


async def test_generated_sdk_reads_downtime(deal_edge: Edge, tmp_path: Path) -> None:
    c = deal_edge.client
    code, output = await generate_sdk((await c.get("/openapi.json")).json(), tmp_path)
    assert code == 0 and "Warning" not in output and "Unable to" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module(f"{PACKAGE}.client")
        m = importlib.import_module(f"{PACKAGE}.models")

        def op(prefix: str) -> Any:
            pkg = importlib.import_module(f"{PACKAGE}.api.downtime_staff")
            names = [p.stem for p in Path(pkg.__file__ or "").parent.glob(f"{prefix}_api_*.py")]
            assert len(names) == 1, (prefix, names)
            return importlib.import_module(f"{pkg.__name__}.{names[0]}").asyncio

        company, cl, h = await _world(deal_edge)
        staff = client_mod.AuthenticatedClient(
            base_url=deal_edge.url,
            token=h["operator"]["Authorization"].split(" ", 1)[1],
            headers={"CompanyID": str(company)},
            raise_on_unexpected_status=True,
        )
        cc = {"community_id": cl.community, "cluster_id": cl.cluster}
        assert await op("staff_downtime_unit_id_list")(client=staff, **cc) == ["G1", "G2"]
        rows = await op("staff_downtime_list")(client=staff, unit_id="G1", **cc)
        assert isinstance(rows[0], m.Downtime) and rows[0].unit_id == "G1"
        report = await op("staff_downtime_availability")(
            client=staff, datetime_from=at(0).isoformat(), datetime_to=at(3600).isoformat(), **cc
        )
        assert isinstance(report, m.AvailabilityReport)
        assert [u.unit_id for u in report.units] == ["G1", "G2"] and report.cluster.units == 2
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]
