"""Helpers of the downtime tests: units registered in deal-service's replica (with availability windows,
returning their registry ids), unit data samples fed through the service as the consumer does, the
stored downtimes, and the reference computations the tests hold the service to."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from deal_helpers import _event
from fastapi import FastAPI
from sqlalchemy import select

from deal_service.db import community_replica
from deal_service.downtime import service
from deal_service.downtime.models import downtimes
from deal_service.downtime.schemas import UnitDataSample
from gridcommons.community import CLUSTER_CHANGED, COMMUNITY_CHANGED, UNIT_CHANGED, ClusterV1, CommunityV1, UnitV1
from gridcommons.db import unit_of_work

COMMUNITY = "oss_community"
TOLERANCE = timedelta(seconds=120)
T0 = datetime(2025, 1, 1, tzinfo=UTC)  # in the past: availability does not judge the future
AUTO_MODE = "autonomous"

_ids = itertools.count(1)


@dataclass(frozen=True)
class Cluster:
    company_id: int
    community: str
    cluster: str
    units: dict[str, int]  # code -> registry id

    def cc(self) -> dict[str, str]:
        return {"communityId": self.community, "clusterId": self.cluster}


async def register_units(
    app: FastAPI,
    company_id: int,
    units: dict[str, tuple[datetime | None, datetime | None]] | list[str],
    *,
    cluster: str | None = None,
    retired: dict[str, datetime] | None = None,
) -> Cluster:
    """A community and cluster of the company with these units (code -> (available_from, available_to))."""
    n = next(_ids)
    cluster = cluster or f"dt_cluster_{n}"
    windows = {u: (None, None) for u in units} if isinstance(units, list) else units
    base = 9_000_000 + company_id * 1000 + n * 50
    community_id, cluster_id = base + 1, base + 2
    events = [
        _event(COMMUNITY_CHANGED, company_id, CommunityV1(id=community_id, code=COMMUNITY, name=COMMUNITY, version=1)),
        _event(
            CLUSTER_CHANGED,
            company_id,
            ClusterV1(
                id=cluster_id,
                code=cluster,
                name=cluster,
                version=1,
                community_id=community_id,
                community_code=COMMUNITY,
            ),
        ),
    ]
    ids = {}
    for i, (code, (available_from, available_to)) in enumerate(windows.items()):
        ids[code] = base + 10 + i
        events.append(
            _event(
                UNIT_CHANGED,
                company_id,
                UnitV1(
                    id=ids[code],
                    code=code,
                    name=code,
                    version=1,
                    community_id=community_id,
                    community_code=COMMUNITY,
                    cluster_id=cluster_id,
                    cluster_code=cluster,
                    available_from=available_from,
                    available_to=available_to,
                    retired_at=(retired or {}).get(code),
                ),
            )
        )
    async with unit_of_work(app.state.sessionmaker) as session:
        for event in events:
            await community_replica.apply_event(session, event)
    return Cluster(company_id, COMMUNITY, cluster, ids)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sample(cl: Cluster, code: str, seconds: float, mode: str | None = "autonomous") -> UnitDataSample:
    return UnitDataSample(
        unit_id=cl.units[code],
        community_code=cl.community,
        cluster_code=cl.cluster,
        unit_code=code,
        time=at(seconds),
        operation_mode=mode,
    )


async def feed(app: FastAPI, company_id: int, samples: list[UnitDataSample]) -> int:
    """One consumer transaction's worth of samples."""
    async with unit_of_work(app.state.sessionmaker) as session:
        return await service.record_samples(session, [(company_id, s) for s in samples], TOLERANCE)


async def stored(app: FastAPI, company_id: int, unit_id: int) -> list[tuple[datetime, datetime | None]]:
    """The unit's downtimes (down, recovery) in order, after checking that each one's stored prefix sum is
    the seconds of those before it and that only the last one may be open."""
    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(downtimes.c.down_date_time, downtimes.c.recovery_date_time, downtimes.c.downtime_before_sec)
                .where(downtimes.c.company_id == company_id, downtimes.c.unit_id == unit_id)
                .order_by(downtimes.c.down_date_time)
            )
        ).all()
    total = 0.0
    for i, (down, recovery, before) in enumerate(rows):
        assert abs(before - total) < 1e-6, (i, before, total)
        assert recovery is not None or i == len(rows) - 1, "only the last downtime may be open"
        if recovery is not None:
            assert recovery > down
            total += (recovery - down).total_seconds()
    return [(r[0], r[1]) for r in rows]


def reference_downtimes(
    samples: list[tuple[datetime, bool]], tolerance: timedelta = TOLERANCE
) -> list[tuple[datetime, datetime | None]]:
    """The original job, written out plainly over every sample sorted by time (two samples of one instant
    are one, down if either is)."""
    merged: dict[datetime, bool] = {}
    for t, down in samples:
        merged[t] = merged.get(t, False) or down
    result: list[tuple[datetime, datetime | None]] = []
    last_time: datetime | None = None
    active: datetime | None = None
    for t in sorted(merged):
        down = merged[t]
        dataloss = last_time is not None and (t - last_time).total_seconds() >= tolerance.total_seconds()
        if (dataloss or down) and active is None:
            active = last_time if dataloss else t
        if not down and active is not None:
            result.append((active, t))
            active = None
        last_time = t
    if active is not None:
        result.append((active, None))
    return result


def replay_events(events: list[dict[str, Any]]) -> dict[int, dict[datetime, datetime | None]]:
    """The downtimes per unit that a consumer of deals.downtime.v1 holds after these events."""
    held: dict[int, dict[datetime, datetime | None]] = {}
    for e in events:
        data = e["data"]
        rows = held.setdefault(int(data["unit_id"]), {})
        if data.get("previous_down_date_time"):
            rows.pop(datetime.fromisoformat(data["previous_down_date_time"]), None)
        down = datetime.fromisoformat(data["down_date_time"])
        if data["removed"]:
            rows.pop(down, None)
        else:
            rec = data["recovery_date_time"]
            rows[down] = None if rec is None else datetime.fromisoformat(rec)
    return held


def reference_availability(
    units: list[dict[str, Any]], rows: list[dict[str, Any]], start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    """Reference §7 computed plainly, with the rules the service adds: the window is cut at now, a unit
    that never reported before its period's end is not judged, empty periods have no ratio.
    ``units``: code, available_from, available_to, first_time (None: never reported)."""
    judged_end = max(start, min(end, now))
    out: dict[str, Any] = {}
    n = 0
    total_period = total_down = 0.0
    for unit in units:
        af, at_ = unit["available_from"], unit["available_to"]
        if (af is not None and af >= end) or (at_ is not None and at_ <= start):
            continue
        p_from = max(start, af) if af else start
        p_to = min(judged_end, at_) if at_ else judged_end
        p_to = max(p_from, p_to)
        period = (p_to - p_from).total_seconds()
        reported = unit["first_time"] is not None and unit["first_time"] < p_to
        if not reported:
            out[unit["code"]] = (period, None, None)
            continue
        down = 0.0
        for r in rows:
            if r["unitId"] != unit["code"]:
                continue
            b = datetime.fromisoformat(r["downDateTime"])
            e = datetime.fromisoformat(r["recoveryDateTime"]) if r["recoveryDateTime"] else p_to
            down += max(0.0, (min(e, p_to) - max(b, p_from)).total_seconds())
        out[unit["code"]] = (period, down, (period - down) / period if period > 0 else None)
        n += 1
        total_period += period
        total_down += down
    ratio = (total_period - total_down) / total_period if total_period > 0 else None
    return {"units": out, "n": n, "period": total_period, "down": total_down, "ratio": ratio}
