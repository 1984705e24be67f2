"""Rules of jobs: judging one cluster for one job type (NG opens failures, OK closes them), a whole
pass over the fleet (one replica at a time, one cluster failing never stops the others), and the job
settings of a cluster (list, activate, deactivate — deactivating closes the job's open failures)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridcommons.community import ClusterRef
from gridcommons.db import unit_of_work
from gridcommons.timeutil import utcnow

from ..failures import service as failures
from ..params import bad_request
from ..settings import MonitoringSettings
from . import repository
from .repository import ClusterKey
from .rules import JOB_TYPES, JOBS, Job, SevereLine, alive_description, severe_description

log = logging.getLogger("monitoring_service.jobs")

PER_UNIT_TYPES = tuple(t for t, j in JOBS.items() if j.per_unit)


def lock_key(job_type: str) -> int:
    """The advisory lock key of a job type's passes (one pass of a type at a time, across replicas)."""
    return int.from_bytes(hashlib.sha256(f"monitoring.job.{job_type}".encode()).digest()[:8], "big") >> 1


def job_of(value: str | None) -> Job:
    """``type``: missing → 400 ``no param : type``; not one of the six → 400 ``unknown type : <t>``."""
    if not value:
        raise bad_request("no param : type")
    job = JOBS.get(value)
    if job is None:
        raise bad_request(f"unknown type : {value[:64]}")
    return job


# ----------------------------------------------------------------------------- judging a cluster
@dataclass
class Verdict:
    """A cluster's outcome for one job type: the NG keys with their descriptions and the OK keys."""

    ng: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # (program, unit, description)
    ok: list[tuple[str | None, str | None]] = field(default_factory=list)  # (program, unit)


async def verdict(
    session: AsyncSession,
    settings: MonitoringSettings,
    job: Job,
    key: ClusterKey,
    units: list[str],
    now: datetime,
) -> Verdict:
    since = now - timedelta(seconds=settings.interval_seconds(job.type))
    subjects: list[str | None] = list(units) if job.per_unit else [None]
    scope = units if job.per_unit else None
    out = Verdict()
    if not job.severe:
        counts = await repository.alive_counts(session, key, job, since, settings.thread_blocking_limit_ms, scope)
        fresh_unit_data = job.type == "apis_ccc_alive" and await repository.unit_data_since(session, key, since)
        for unit in subjects:
            alive, blocked = counts.get(unit, (0, False))
            ng = (alive < 1 and not fresh_unit_data) or (job.blocked_check and blocked)
            if ng:
                out.ng.append((job.failure_program, unit, alive_description(job)))
            else:
                out.ok.append((job.failure_program, unit))
        return out
    tz = ZoneInfo(settings.description_timezone)
    found = await repository.severe_lines(session, key, job, since, settings.description_max_lines, scope)
    for unit in subjects:
        if unit in found:
            lines, total = found[unit]
            description = severe_description(job, [SevereLine(*line) for line in lines], total, tz)
            out.ng.append((job.failure_program, unit, description))
        else:
            out.ok.append((job.failure_program, unit))
    return out


async def judge_cluster(
    session: AsyncSession,
    settings: MonitoringSettings,
    job: Job,
    key: ClusterKey,
    units: list[str],
    now: datetime,
) -> tuple[int, int]:
    """One job type on one cluster (``units``: its available units): open the NG keys' failures, close
    the OK keys' ones. Returns (opened, closed)."""
    found = await verdict(session, settings, job, key, units, now)
    opened = await failures.open_failures(session, key[0], job.type, key[1], key[2], found.ng, now)
    closed = await failures.close_failures(session, key[0], job.type, key[1], key[2], found.ok, failures.REASON_OK, now)
    return len(opened), len(closed)


# ----------------------------------------------------------------------------- a pass
@dataclass
class PassResult:
    type: str
    ran: bool = False  # False: another replica holds the lock, or ran the pass a moment ago
    clusters: int = 0
    opened: int = 0
    closed: int = 0
    failed_clusters: list[ClusterKey] = field(default_factory=list)


async def run_pass(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: MonitoringSettings,
    job_type: str,
    *,
    now: datetime | None = None,
    min_gap_seconds: float = 0.0,
) -> PassResult:
    """One pass of ``job_type`` over every cluster with an available unit where the job is active.

    Exactly one replica runs it: the pass holds the type's advisory lock (a replica that cannot take it
    skips), and records its start so that a replica taking the lock right after skips too (within
    ``min_gap_seconds``). Each cluster is judged in its own transaction: an error in one is logged and
    the pass goes on. Failures of units no longer available close (``unit retired``), and so do those
    of clusters where the job is now inactive (``job deactivated``)."""
    job = JOBS[job_type]
    result = PassResult(job_type)
    now = now or utcnow()
    async with engine.connect() as lock:
        got = (await lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(job_type)})).scalar()
        await lock.commit()
        if not got:
            return result
        try:
            async with unit_of_work(sessionmaker) as session:
                if not await repository.claim_pass(session, job_type, now, min_gap_seconds):
                    return result
                clusters = await repository.available_units(session, now)
                chosen = await repository.settings_of_type(session, job_type)
            result.ran = True
            inactive: list[ClusterKey] = [k for k, active in chosen.items() if not active]
            for key, units in clusters.items():
                if not chosen.get(key, settings.jobs_active_by_default):
                    continue
                result.clusters += 1
                try:
                    async with unit_of_work(sessionmaker) as session:
                        opened, closed = await judge_cluster(session, settings, job, key, units, now)
                    result.opened += opened
                    result.closed += closed
                except Exception:
                    log.exception("job %s: cluster %s/%s of company %s failed", job_type, key[1], key[2], key[0])
                    result.failed_clusters.append(key)
            async with unit_of_work(sessionmaker) as session:
                if not settings.jobs_active_by_default:
                    # Clusters without a row are inactive too: their open failures close as deactivated.
                    inactive += [k for k in clusters if k not in chosen]
                closed_rows = await failures.close_clusters(
                    session, job_type, inactive, failures.REASON_DEACTIVATED, now
                )
                if job.per_unit:
                    closed_rows += await failures.close_unavailable(session, [job_type], now)
                result.closed += len(closed_rows)
                await repository.finish_pass(session, job_type, utcnow())
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(job_type)})
            await lock.commit()
    if result.opened or result.closed or result.failed_clusters:
        log.info(
            "job %s: %d clusters, %d failures opened, %d closed, %d clusters failed",
            job_type,
            result.clusters,
            result.opened,
            result.closed,
            len(result.failed_clusters),
        )
    return result


# ----------------------------------------------------------------------------- job settings
def _key(cluster: ClusterRef) -> ClusterKey:
    return (cluster.company_id, cluster.community_code, cluster.cluster_code)


async def job_list(session: AsyncSession, cluster: ClusterRef, settings: MonitoringSettings) -> list[dict[str, Any]]:
    """All six types in the seed's order, each with whether it runs for the cluster."""
    rows = await repository.settings_of_cluster(session, _key(cluster))
    return [{"type": t, "isActive": rows.get(t, settings.jobs_active_by_default)} for t in JOB_TYPES]


async def set_active(session: AsyncSession, cluster: ClusterRef, job: Job, active: bool) -> None:
    """Activate or deactivate a job for the cluster (a row is written either way, so the setting holds
    whatever the default). Deactivating closes the job's open failures of the cluster (``job deactivated``)."""
    key = _key(cluster)
    await repository.set_active(session, key, job.type, active)
    if not active:
        await failures.close_clusters(session, job.type, [key], failures.REASON_DEACTIVATED, utcnow())
