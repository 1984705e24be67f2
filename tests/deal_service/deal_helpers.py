"""Helpers of the deal-service tests: a registry (community, cluster, units with residents) written into
deal-service's replica with the kernel's payload models, deal reports, and the outbox's events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI

from deal_service.db import community_replica
from gridcommons.community import (
    CLUSTER_CHANGED,
    COMMUNITY_CHANGED,
    UNIT_CHANGED,
    ClusterV1,
    CommunityV1,
    UnitV1,
)
from gridcommons.db import unit_of_work
from gridcommons.events import CloudEvent
from gridcommons.testing.plugin import Stack

_ids = itertools.count(1)
COMMUNITY = "oss_community"
CLUSTER = "oss_cluster"
UNITS = ("E001", "E002", "E003", "E004")


@dataclass(frozen=True)
class Registry:
    company_id: int
    community: str
    cluster: str
    residents: dict[str, int]  # unit code -> the user id linked to it

    def cc(self) -> dict[str, str]:
        return {"communityId": self.community, "clusterId": self.cluster}

    def ccu(self, unit: str) -> dict[str, str]:
        return {**self.cc(), "unitId": unit}


def _event(kind: str, company_id: int, data: Any) -> CloudEvent:
    return CloudEvent(
        source="/services/community-service", type=kind, companyid=str(company_id), data=data.model_dump(mode="json")
    )


async def register(
    app: FastAPI,
    company_id: int,
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
    units: tuple[str, ...] = UNITS,
    residents: dict[str, int] | None = None,
) -> Registry:
    """A community with one cluster and its units, each unit with one resident (user id: ``residents``,
    else made up)."""
    base = company_id * 100 + next(_ids) * 10
    community_id, cluster_id = base + 1, base + 2
    residents = residents or {u: company_id * 1000 + i for i, u in enumerate(units)}
    events = [
        _event(COMMUNITY_CHANGED, company_id, CommunityV1(id=community_id, code=community, name=community, version=1)),
        _event(
            CLUSTER_CHANGED,
            company_id,
            ClusterV1(
                id=cluster_id,
                code=cluster,
                name=cluster,
                version=1,
                community_id=community_id,
                community_code=community,
            ),
        ),
    ]
    for i, unit in enumerate(units):
        events.append(
            _event(
                UNIT_CHANGED,
                company_id,
                UnitV1(
                    id=company_id * 10_000 + next(_ids) * 10 + i,
                    code=unit,
                    name=unit,
                    version=1,
                    community_id=community_id,
                    community_code=community,
                    cluster_id=cluster_id,
                    cluster_code=cluster,
                    resident_ids=[residents[unit]] if unit in residents else [],
                ),
            )
        )
    async with unit_of_work(app.state.sessionmaker) as session:
        for event in events:
            await community_replica.apply_event(session, event)
    return Registry(company_id, community, cluster, residents)


def report(deal_id: str, **fields: Any) -> dict[str, Any]:
    """A deal report between E003 (charging, requester) and E001, created 2020-01-01T06:05:40Z."""
    base: dict[str, Any] = {
        "unitId": "E003",
        "negotiationId": "d2db0d7a-5836-4a13-90bf-416ab4654a2c",
        "requestUnitId": "E003",
        "acceptUnitId": "E001",
        "requestDateTime": "2020-01-01T06:05:40Z",
        "acceptDateTime": "2020-01-01T06:05:40Z",
        "requestPointPerWh": 10.0,
        "acceptPointPerWh": 10.0,
        "requestDealGridCurrentA": 1.0,
        "acceptDealGridCurrentA": 1.0,
        "type": "charge",
        "chargeUnitId": "E003",
        "dischargeUnitId": "E001",
        "pointPerWh": 10.0,
        "chargeUnitEfficientGridVoltageV": 312.0,
        "dischargeUnitEfficientGridVoltageV": 312.0,
        "dealGridCurrentA": 1.0,
        "requestAmountWh": 1358,
        "acceptAmountWh": 536,
        "dealAmountWh": 50,
        "dealId": deal_id,
        "createDateTime": "2020-01-01T06:05:40Z",
        "communityId": COMMUNITY,
        "clusterId": CLUSTER,
        "reportTime": 1606138146,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


async def outbox_events(
    stack: Stack, company_id: int, type_: str = "org.gridcommons.deals.deal.reported"
) -> list[dict[str, Any]]:
    """The company's outbox rows of one event type, in order: topic, key and the CloudEvent's fields."""
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT topic, key, payload FROM deal.outbox WHERE payload->>'companyid' = $1 AND payload->>'type' = $2 "
            "ORDER BY seq",
            str(company_id),
            type_,
        )
    finally:
        await conn.close()
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]
