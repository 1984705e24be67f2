"""Unit data at the edge: the edge runs no workers, so the community registry's unit reaches
metering-service's replica here, written as its consumer would write community-service's event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import UNIT_CHANGED, UnitV1
from gridcommons.db import make_engine
from gridcommons.events import CloudEvent
from gridcommons.settings import InfraSettings
from metering_service.db import community_replica


async def replicate_unit(company_id: int, community: str, cluster: str, unit: str, resident_ids: list[int]) -> None:
    """The unit (with its residents) in metering-service's registry replica; ids derived from the company."""
    data = UnitV1(
        id=company_id * 100 + 1,
        code=unit,
        name=unit.upper(),
        version=1,
        community_id=company_id * 100 + 2,
        community_code=community,
        cluster_id=company_id * 100 + 3,
        cluster_code=cluster,
        resident_ids=resident_ids,
    )
    await _apply(company_id, UNIT_CHANGED, data.model_dump(mode="json"))


async def replicate_cluster(company_id: int, community: str, cluster: str) -> None:
    from gridcommons.community import CLUSTER_CHANGED, ClusterV1

    data = ClusterV1(
        id=company_id * 100 + 3,
        code=cluster,
        name=cluster.upper(),
        version=1,
        community_id=company_id * 100 + 2,
        community_code=community,
    )
    await _apply(company_id, CLUSTER_CHANGED, data.model_dump(mode="json"))


async def _apply(company_id: int, kind: str, data: dict[str, Any]) -> None:
    engine = make_engine(InfraSettings(), application_name="edge-tests")
    try:
        async with AsyncSession(engine) as session, session.begin():
            event = CloudEvent(source="/services/community-service", type=kind, companyid=str(company_id), data=data)
            await community_replica.apply_event(session, event)
    finally:
        await engine.dispose()


def unit_data_document(community: str, cluster: str, unit: str, dataset_id: int) -> dict[str, Any]:
    """A unit data document as apis-ccc sends it."""
    return {
        "emu": {"charge_discharge_power": 299.2, "rsoc": 46.56},
        "dcdc": {"status": {"status": "0x0000", "alarmState": "Light alarm", "operationMode": "Waiting"}},
        "oesunit": {
            "communityId": community,
            "clusterId": cluster,
            "id": unit,
            "display": unit,
            "ip": "169.254.209.84",
            "ipv6_ll": "NA",
            "ipv6_g": "NA",
            "mac": "8c:85:90:b2:14:ef",
        },
        "time": "2026-06-01T10:00:00Z",
        "battery": {"rsoc": 46.56, "battery_operation_status": None},
        "apis": {
            "version": "3.0.0",
            "remaining_capacity_wh": 2234,
            "is_grid_master": True,
            "operation_mode": {"global": "autonomous", "local": None, "effective": "autonomous"},
        },
        "datasetId": dataset_id,
    }
