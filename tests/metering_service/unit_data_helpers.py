"""Unit data test helpers: registry units in metering-service's replica (as community-service's events
would write them) and unit data documents shaped like apis-ccc's."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from gridcommons.community import CLUSTER_CHANGED, UNIT_CHANGED, ClusterV1, UnitV1
from gridcommons.events import CloudEvent
from metering_service.db import community_replica

_ids = itertools.count(1)
COMMUNITY = "oss_community"
CLUSTER = "oss_cluster"


def record_id(company_id: int) -> int:
    return company_id * 10_000 + next(_ids)


async def register(
    app: Any,
    company_id: int,
    codes: Iterable[str],
    *,
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
    residents: dict[str, list[int]] | None = None,
    retired: Iterable[str] = (),
) -> dict[str, UnitV1]:
    """The cluster and its units in the replica (retired ones with ``retired_at``); {code: unit}."""
    residents = residents or {}
    retired = set(retired)
    cluster_v1 = ClusterV1(
        id=record_id(company_id), code=cluster, name=cluster, version=1, community_id=1, community_code=community
    )
    units = {
        code: UnitV1(
            id=record_id(company_id),
            code=code,
            name=code,
            version=1,
            community_id=1,
            community_code=community,
            cluster_id=cluster_v1.id,
            cluster_code=cluster,
            resident_ids=residents.get(code, []),
            retired_at=datetime(2026, 1, 1, tzinfo=UTC) if code in retired else None,
        )
        for code in codes
    }
    async with app.state.sessionmaker() as session, session.begin():
        for kind, data in [(CLUSTER_CHANGED, cluster_v1), *((UNIT_CHANGED, u) for u in units.values())]:
            event = CloudEvent(
                source="/services/community-service",
                type=kind,
                companyid=str(company_id),
                data=data.model_dump(mode="json"),
            )
            await community_replica.apply_event(session, event)
    return units


BASE_DOCUMENT: dict[str, Any] = {
    "emu": {
        "charge_discharge_power": 299.2,
        "system_time": {"month": 12, "minute": 5, "day": 20, "hour": 23, "year": 2014},
        "rsoc": 46.56,
        "ups_operation_mode": {"parameter": 80, "mode": 2, "stop_mode": 2},
    },
    "dcdc": {
        "status": {"status": "0x0000", "alarmState": "Light alarm", "operationMode": "Waiting"},
        "meter": {"wg": 0, "tmp": 26.59, "vb": 48, "wb": -4.5, "vg": 0, "ib": -0.09, "ig": 0},
        "vdis": {"dvg": 350.0, "drg": 0.0},
        "param": {"dig": 0.0},
    },
    "oesunit": {
        "communityId": COMMUNITY,
        "clusterId": CLUSTER,
        "id": "E001",
        "display": "E001",
        "sn": "1",
        "budo": "1",
        "ip": "169.254.209.84",
        "ipv6_ll": "NA",
        "ipv6_g": "NA",
        "mac": "8c:85:90:b2:14:ef",
    },
    "time": "2019-12-31T20:36:10Z",
    "battery": {"rsoc": 46.56, "battery_operation_status": None},
    "apis": {
        "version": "3.0.0",
        "remaining_capacity_wh": 2234,
        "deal_interlock_capacity": 2,
        "is_grid_master": True,
        "operation_mode": {"global": "autonomous", "local": None, "effective": "autonomous"},
    },
    "datasetId": 1606189298143,
}


def document(
    unit: str,
    dataset_id: int,
    *,
    time: str = "2026-03-29T01:30:00Z",
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
    rsoc: float = 46.56,
) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_DOCUMENT)
    doc["oesunit"].update(communityId=community, clusterId=cluster, id=unit, display=unit)
    doc["datasetId"] = dataset_id
    doc["time"] = time
    doc["battery"]["rsoc"] = rsoc
    return doc


def without_network(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for name in ("ip", "ipv6_ll", "ipv6_g", "mac"):
        out["oesunit"].pop(name, None)
    return out
