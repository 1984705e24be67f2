"""Helpers of the monitoring-service tests: a registry (community, cluster, units with residents and
availability windows) written into monitoring-service's replica with the kernel's payload models, log
records, job passes run directly, and the outbox's failure events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI

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
from gridcommons.timeutil import utcnow
from monitoring_service.db import community_replica
from monitoring_service.jobs import service as jobs
from monitoring_service.jobs.rules import JOBS
from monitoring_service.logs import service as logs
from monitoring_service.logs.schemas import LogRecord
from monitoring_service.settings import MonitoringSettings

_ids = itertools.count(1)
COMMUNITY = "oss_community"
CLUSTER = "oss_cluster"
UNITS = ("E001", "E002", "E003", "E004")


@dataclass
class Registry:
    company_id: int
    community: str
    cluster: str
    community_id: int
    cluster_id: int
    unit_ids: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def cc(self) -> dict[str, str]:
        return {"communityId": self.community, "clusterId": self.cluster}

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.company_id, self.community, self.cluster)


def _event(kind: str, company_id: int, data: Any) -> CloudEvent:
    return CloudEvent(
        source="/services/community-service", type=kind, companyid=str(company_id), data=data.model_dump(mode="json")
    )


def _unit(reg: Registry, code: str, **fields: Any) -> UnitV1:
    return UnitV1(
        id=reg.unit_ids[code],
        code=code,
        name=code,
        version=reg.versions[code],
        community_id=reg.community_id,
        community_code=reg.community,
        cluster_id=reg.cluster_id,
        cluster_code=reg.cluster,
        **fields,
    )


async def register(
    app: FastAPI,
    company_id: int,
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
    units: tuple[str, ...] = UNITS,
) -> Registry:
    """A community with one cluster and its units (always available)."""
    base = company_id * 100 + next(_ids) * 10
    reg = Registry(company_id, community, cluster, base + 1, base + 2)
    events = [
        _event(
            COMMUNITY_CHANGED, company_id, CommunityV1(id=reg.community_id, code=community, name=community, version=1)
        ),
        _event(
            CLUSTER_CHANGED,
            company_id,
            ClusterV1(
                id=reg.cluster_id,
                code=cluster,
                name=cluster,
                version=1,
                community_id=reg.community_id,
                community_code=community,
            ),
        ),
    ]
    for i, unit in enumerate(units):
        reg.unit_ids[unit] = company_id * 10_000 + next(_ids) * 10 + i
        reg.versions[unit] = 1
        events.append(_event(UNIT_CHANGED, company_id, _unit(reg, unit)))
    async with unit_of_work(app.state.sessionmaker) as session:
        for event in events:
            await community_replica.apply_event(session, event)
    return reg


async def change_unit(app: FastAPI, reg: Registry, code: str, **fields: Any) -> None:
    """A newer state of a unit (retired_at, available_from/to)."""
    reg.versions[code] += 1
    async with unit_of_work(app.state.sessionmaker) as session:
        await community_replica.apply_event(session, _event(UNIT_CHANGED, reg.company_id, _unit(reg, code, **fields)))


def log(
    program: str,
    level: str,
    message: str | None,
    *,
    unit: str | None = None,
    at: datetime | None = None,
    logger: str | None = "jp.co.sony.csl.dcoes.apis.Test",
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
) -> dict[str, Any]:
    """A log record (wire form), logged ``at`` (default: 5 seconds ago)."""
    record: dict[str, Any] = {
        "communityId": community,
        "clusterId": cluster,
        "programId": program,
        "datetime": (at or utcnow() - timedelta(seconds=5)).isoformat(),
        "loglevel": level,
        "loggername": logger,
        "message": message,
    }
    if unit is not None:
        record["unitId"] = unit
    return {k: v for k, v in record.items() if v is not None}


async def store_logs(app: FastAPI, company_id: int, records: list[dict[str, Any]]) -> None:
    """Write log records as the doors do (checks included)."""
    items = [logs.Item(company_id, LogRecord.model_validate(r), ("logs", i)) for i, r in enumerate(records)]
    async with unit_of_work(app.state.sessionmaker) as session:
        await logs.record(session, community_replica.lookup, items, app.state.settings)


def settings(**overrides: Any) -> MonitoringSettings:
    return MonitoringSettings(jobs_enabled=False, **overrides)


async def judge(
    app: FastAPI,
    reg: Registry,
    job_type: str,
    *,
    now: datetime | None = None,
    units: tuple[str, ...] | None = None,
    config: MonitoringSettings | None = None,
) -> tuple[int, int]:
    """One job type on the registry's cluster (its units, or ``units``) now: (opened, closed)."""
    async with unit_of_work(app.state.sessionmaker) as session:
        return await jobs.judge_cluster(
            session, config or app.state.settings, JOBS[job_type], reg.key, list(units or reg.unit_ids), now or utcnow()
        )


async def failure_events(stack: Stack, company_id: int) -> list[dict[str, Any]]:
    """The company's monitoring.failure.v1 outbox rows, in order: topic, key and the CloudEvent's fields."""
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT topic, key, payload FROM monitoring.outbox WHERE payload->>'companyid' = $1 "
            "AND topic = 'monitoring.failure.v1' ORDER BY seq",
            str(company_id),
        )
    finally:
        await conn.close()
    return [{"topic": r["topic"], "key": r["key"], **orjson.loads(r["payload"])} for r in rows]
