"""Rules of downtime: derivation from unit data samples (the reference's job, made order-proof), the
silence check, and the staff views (unit list, downtime list, availability).

**The derivation** (``derive``) is the original job's, over a unit's samples in time order (one per
instant): a gap of at least the tolerance since the previous sample is a data loss; a sample whose
``apis.operation_mode.effective`` is not ``autonomous`` is down. While no downtime is open, a data loss
opens one at the previous sample, a down sample at itself; an ``autonomous`` sample closes the open one
at itself. So a pure data gap followed by an ``autonomous`` sample is the closed downtime [previous
sample, this sample].

**Order-proof**: the downtimes of a unit are always what ``derive`` gives over *all* its samples sorted
by time, whatever order they arrived in. Each unit keeps its samples (time, down) of the retention
window. A batch of new samples is stored (a repeat of an instant changes nothing; two samples of one
instant are one, down if either is); the re-derivation then starts at the *anchor* — the latest stored
sample before the earliest new one — from the state the job held after it (the downtime still open then,
if any: one begun before the anchor, or at it when the anchor is down), runs over every sample after it
and replaces the downtimes it covers (those starting at or after the anchor, and the one open across it). In order, that is just the new samples; a late sample costs
the samples after it. A sample at or before the unit's floor (the retained sample the pruning kept as
the anchor of everything older) is too late and dropped.

**Silence**: a unit without an open downtime whose newest sample is at least the tolerance old, and
that the registry says is available now, is opened as down at that sample (the data loss as the
reference would see it when data resumes). When data resumes, the samples decide: a gap of at least
the tolerance closes it at the new sample; a delayed sample within the tolerance removes it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import ClusterRef

from . import events, repository
from .repository import ClusterScope, Row
from .schemas import UnitDataSample

log = logging.getLogger("deal_service.downtime")


@dataclass(frozen=True)
class Sample:
    time: datetime
    down: bool


def derive(
    samples: Sequence[Sample], tolerance: timedelta, *, last: datetime | None = None, active: datetime | None = None
) -> tuple[list[Row], datetime | None]:
    """The reference's job over ``samples`` (time order, one per instant) from a state (``last``: the
    previous sample's time, ``active``: start of the downtime open then): the downtimes closed on the way,
    and the start of the one still open after the last sample (None if none)."""
    closed: list[Row] = []
    for sample in samples:
        data_loss = last is not None and sample.time - last >= tolerance
        if (data_loss or sample.down) and active is None:
            active = last if data_loss else sample.time
        if not sample.down and active is not None:
            closed.append(Row(active, sample.time))
            active = None
        last = sample.time
    return closed, active


Change = tuple[str, dict[str, Any]]  # (event type, DowntimeChangedV1 data)


def _diff(
    unit: dict[str, Any], old: Sequence[Row], new: Sequence[Row], *, late: bool
) -> tuple[list[Row], list[datetime], list[Change]]:
    """What turns ``old`` into ``new`` (downtimes matched by start): rows to write, starts to delete, events."""
    old_by = {r.down: r for r in old}
    new_by = {r.down: r for r in new}
    writes: list[Row] = []
    deletes: list[datetime] = []
    changes: list[Change] = []
    for start in sorted(old_by.keys() | new_by.keys()):
        o, n = old_by.get(start), new_by.get(start)
        if o is not None and n is not None and o == n:
            if abs(o.before - n.before) > 1e-6:  # an earlier downtime changed: its prefix sum moves
                writes.append(n)
            continue
        if n is None:
            assert o is not None
            deletes.append(start)
            changes.append(
                (
                    events.REVISED,
                    events.changed_data(unit, o.down, o.recovery, removed=True, previous=(o.down, o.recovery)),
                )
            )
            continue
        writes.append(n)
        if o is None:
            kind = events.OPENED if n.recovery is None else (events.REVISED if late else events.CLOSED)
            changes.append((kind, events.changed_data(unit, n.down, n.recovery)))
        elif o.recovery is None and n.recovery is not None:
            changes.append((events.CLOSED, events.changed_data(unit, n.down, n.recovery)))
        else:
            changes.append(
                (events.REVISED, events.changed_data(unit, n.down, n.recovery, previous=(o.down, o.recovery)))
            )
    return writes, deletes, changes


def _with_prefix_sums(rows: Sequence[Row], base: float) -> list[Row]:
    """``rows`` (in time order, after the downtimes that sum to ``base`` seconds) with their prefix sums."""
    out = []
    total = base
    for row in rows:
        out.append(Row(row.down, row.recovery, total))
        if row.recovery is not None:
            total += (row.recovery - row.down).total_seconds()
    return out


def _rederive(
    unit: dict[str, Any],
    state: dict[str, Any],
    created: bool,
    changed: Sequence[datetime],
    anchor: repository.Anchor | None,
    old: Sequence[Row],
    samples: Sequence[tuple[datetime, bool]],
    tolerance: timedelta,
) -> tuple[list[Row], list[datetime], list[Change], dict[str, Any]]:
    """One unit's re-derivation from its anchor over the samples after it (see the module): the downtimes
    to write, the starts to delete, the events, and the unit's new state."""
    earliest, newest = min(changed), max(changed)
    in_order = created or earliest > state["last_time"]
    carry = None
    if anchor is not None:
        # The downtime still open after the anchor sample, as the job would hold it: one begun before it,
        # or at it when the anchor itself is down. (One begun at a sample that is up is a data loss, opened
        # only when the next sample came: a silence check's downtime is such a one.)
        for row in old:
            if row.down < anchor.time or (row.down == anchor.time and anchor.down):
                carry = row.down
    new, active = derive(
        [Sample(t, down) for t, down in samples], tolerance, last=None if anchor is None else anchor.time, active=carry
    )
    last_time = newest if created else max(state["last_time"], newest)
    silent = False
    if active is not None:
        new.append(Row(active, None))
    elif state["silent"] and not created and last_time == state["last_time"]:
        new.append(Row(last_time, None))  # late samples only: the unit is still silent since its newest one
        silent = True
    new = _with_prefix_sums(new, 0.0 if anchor is None else anchor.closed_seconds)
    writes, deletes, changes = _diff(unit, old, new, late=not in_order)
    saved = {
        "company_id": unit["company_id"],
        "unit_id": unit["unit_id"],
        "first_time": min(state["first_time"], earliest),
        "last_time": last_time,
        "open_since": new[-1].down if new and new[-1].recovery is None else None,
        "silent": silent,
    }
    return writes, deletes, changes, saved


async def record_samples(
    session: AsyncSession, samples: Sequence[tuple[int, UnitDataSample]], tolerance: timedelta
) -> int:
    """Apply (company, sample) pairs: store them, re-derive each unit touched from its anchor, write the
    differences and publish one event per downtime change. A few statements for the whole batch, whatever
    the number of units (units locked in key order: one lock order for concurrent batches and the silence
    check). Returns the number of changes."""
    units: dict[repository.Key, dict[str, Any]] = {}
    merged: dict[repository.Key, dict[datetime, bool]] = {}
    for company_id, s in samples:
        key = (company_id, s.unit_id)
        if key not in units:
            units[key] = {
                "company_id": company_id,
                "unit_id": s.unit_id,
                "community_code": s.community_code,
                "cluster_code": s.cluster_code,
                "unit_code": s.unit_code,
            }
            merged[key] = {}
        # two samples of one instant are one, down if either is
        merged[key][s.time] = merged[key].get(s.time, False) or s.down
    if not units:
        return 0
    for key, unit in units.items():
        unit["first_time"] = min(merged[key])
    states = await repository.lock_units(session, list(units.values()))
    rows: list[tuple[int, int, datetime, bool]] = []
    for key, times in merged.items():
        floor = states[key][0]["floor_time"]
        if floor is not None and (late := [t for t in times if t <= floor]):
            log.warning(
                "unit %s of company %s: %d sample(s) at or before the retained floor %s dropped (too late)",
                key[1],
                key[0],
                len(late),
                floor,
            )
        rows += [(*key, t, down) for t, down in times.items() if floor is None or t > floor]
    changed = await repository.insert_samples(session, rows)  # repeats change nothing
    if not changed:
        return 0
    found = await repository.anchors(session, {k: min(v) for k, v in changed.items() if not states[k][1]})
    anchor_of = {k: (found[k].time if k in found else None) for k in changed}
    old_rows = await repository.rows_after(session, anchor_of)
    later = await repository.samples_after(session, anchor_of)
    writes: list[tuple[dict[str, Any], Row]] = []
    deletes: list[tuple[int, int, datetime]] = []
    saved: list[dict[str, Any]] = []
    by_company: dict[int, list[Change]] = {}
    for key in sorted(changed):
        state, created = states[key]
        unit_writes, unit_deletes, changes, new_state = _rederive(
            units[key], state, created, changed[key], found.get(key), old_rows[key], later[key], tolerance
        )
        writes += [(units[key], row) for row in unit_writes]
        deletes += [(*key, start) for start in unit_deletes]
        saved.append(new_state)
        by_company.setdefault(key[0], []).extend(changes)
    await repository.delete_rows(session, deletes)
    await repository.upsert_rows(session, writes)
    await repository.save_units(session, saved)
    for company_id, changes in by_company.items():
        await events.publish(session, company_id, changes)
    return sum(len(c) for c in by_company.values())


async def check_silence(
    session: AsyncSession, now: datetime, tolerance: timedelta, *, limit: int = 1000
) -> list[tuple[int, int]] | None:
    """One pass of the silence check in the caller's transaction: None when another replica holds the
    lock, else the (company, unit) opened as down (at their newest sample)."""
    if not await repository.try_silence_lock(session):
        return None
    opened: list[tuple[int, int]] = []
    by_company: dict[int, list[Change]] = {}
    for unit in await repository.silent_units(session, now, now - tolerance, limit):
        before = await repository.closed_seconds(session, unit["company_id"], unit["unit_id"], unit["last_time"])
        row = Row(unit["last_time"], None, before)
        await repository.upsert_rows(session, [(unit, row)])
        await repository.save_unit(session, unit["company_id"], unit["unit_id"], open_since=row.down, silent=True)
        by_company.setdefault(unit["company_id"], []).append((events.OPENED, events.changed_data(unit, row.down, None)))
        opened.append((unit["company_id"], unit["unit_id"]))
    for company_id, changes in by_company.items():
        await events.publish(session, company_id, changes)
    return opened


# ----------------------------------------------------------------------------- views
def scope_of(cluster: ClusterRef) -> ClusterScope:
    return ClusterScope(cluster.company_id, cluster.community_code, cluster.cluster_code)


async def unit_id_list(
    session: AsyncSession, cluster: ClusterRef, start: datetime | None, end: datetime | None
) -> list[str]:
    return await repository.unit_codes(session, scope_of(cluster), start, end)


@dataclass(frozen=True)
class DowntimeList:
    items: list[dict[str, Any]]
    truncated: bool


async def downtime_list(
    session: AsyncSession,
    cluster: ClusterRef,
    start: datetime | None,
    end: datetime | None,
    unit_code: str | None,
    limit: int | None,
    offset: int,
    cap: int,
) -> DowntimeList:
    size = cap if limit is None else min(limit, cap)
    rows = await repository.overlapping(session, scope_of(cluster), start, end, unit_code, size + 1, offset)
    truncated = len(rows) > size and (limit is None or limit > cap)
    items = [
        {
            "communityId": r["community_code"],
            "clusterId": r["cluster_code"],
            "unitId": r["unit_code"],
            "downDateTime": r["down_date_time"],
            "recoveryDateTime": r["recovery_date_time"],
        }
        for r in rows[:size]
    ]
    return DowntimeList(items, truncated)


def _seconds(a: datetime, b: datetime) -> float:
    return max(0.0, (b - a).total_seconds())


async def availability(
    session: AsyncSession, cluster: ClusterRef, start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    """Per unit whose availability overlaps [start, end): its period (the window, cut at ``now``, clipped
    to its availability and retirement), its downtime in it and the ratio; then the cluster's totals over
    the units that reported (see the README for the rules)."""
    scope = scope_of(cluster)
    judged_end = max(start, min(end, now))
    units = []
    periods: dict[int, tuple[datetime, datetime]] = {}
    for unit in await repository.cluster_units(session, scope):
        available_from, available_to = unit["available_from"], unit["available_to"]
        if unit["retired_at"] is not None:
            available_to = unit["retired_at"] if available_to is None else min(available_to, unit["retired_at"])
        if (available_from is not None and available_from >= end) or (
            available_to is not None and available_to <= start
        ):
            continue
        period_from = start if available_from is None else max(start, available_from)
        period_to = judged_end if available_to is None else min(judged_end, available_to)
        period_to = max(period_from, period_to)
        reported = unit["first_time"] is not None and unit["first_time"] < period_to
        if reported and period_to > period_from:
            periods[unit["unit_id"]] = (period_from, period_to)
        units.append((unit, period_from, period_to, reported))
    down = await repository.downtime_seconds(session, cluster.company_id, periods)
    answer_units = []
    n = unreported = 0
    total_period = total_down = 0.0
    for unit, period_from, period_to, reported in units:
        period = _seconds(period_from, period_to)
        entry: dict[str, Any] = {
            "unitId": unit["unit_code"],
            "availableFrom": unit["available_from"],
            "availableTo": unit["available_to"],
            "periodFrom": period_from,
            "periodTo": period_to,
            "periodSeconds": period,
            "reported": reported,
            "downtimeSeconds": None,
            "availableSeconds": None,
            "ratio": None,
        }
        if reported:
            seconds = min(period, down.get(unit["unit_id"], 0.0))
            entry.update(
                downtimeSeconds=seconds,
                availableSeconds=period - seconds,
                ratio=(period - seconds) / period if period > 0 else None,
            )
            n += 1
            total_period += period
            total_down += seconds
        else:
            unreported += 1
        answer_units.append(entry)
    available = total_period - total_down
    return {
        "communityId": cluster.community_code,
        "clusterId": cluster.cluster_code,
        "datetimeFrom": start,
        "datetimeTo": judged_end,
        "units": answer_units,
        "cluster": {
            "units": n,
            "unreportedUnits": unreported,
            "periodSeconds": total_period,
            "downtimeSeconds": total_down,
            "availableSeconds": available,
            "averagePeriodSeconds": total_period / n if n else None,
            "averageAvailableSeconds": available / n if n else None,
            "averageDowntimeSeconds": total_down / n if n else None,
            "ratio": available / total_period if total_period > 0 else None,
        },
    }
