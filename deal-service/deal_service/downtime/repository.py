"""SQL of downtime. Every statement is scoped by company (and by unit or cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, and_, bindparam, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import community_replica
from .models import downtime_samples as s
from .models import downtime_units as u
from .models import downtimes as d

# The silence check's advisory lock (one runner at a time across replicas): "dtsl".
SILENCE_LOCK = 0x6474736C


@dataclass(frozen=True)
class Row:
    """A downtime: [down, recovery), recovery None while open; ``before``: seconds of the unit's downtimes
    before it (stored, not part of its identity)."""

    down: datetime
    recovery: datetime | None
    before: float = field(default=0.0, compare=False)


# ----------------------------------------------------------------------------- a consumer batch
# One statement per step for every unit of a batch (the consumer's cost is round trips, not rows).
Key = tuple[int, int]  # (company, unit registry id)


def _keys(keys: Sequence[Key]) -> dict[str, Any]:
    return {"companies": [k[0] for k in keys], "units": [k[1] for k in keys]}


_BIGINTS = ARRAY(BigInteger)
_INSTANTS = ARRAY(DateTime(timezone=True))


async def lock_units(session: AsyncSession, units: Sequence[dict[str, Any]]) -> dict[Key, tuple[dict[str, Any], bool]]:
    """Each unit's processing state, locked for this transaction in key order, and whether it was created
    now (new units get ``first_time`` as first and newest sample)."""
    ordered = sorted(units, key=lambda x: (x["company_id"], x["unit_id"]))
    columns = ("company_id", "unit_id", "community_code", "cluster_code", "unit_code")
    created_rows = (
        await session.execute(
            insert(u)
            .values(
                [
                    {**{c: x[c] for c in columns}, "first_time": x["first_time"], "last_time": x["first_time"]}
                    for x in ordered
                ]
            )
            .on_conflict_do_nothing()
            .returning(u.c.company_id, u.c.unit_id)
        )
    ).all()
    created = {(r[0], r[1]) for r in created_rows}
    keys = [(x["company_id"], x["unit_id"]) for x in ordered]
    wanted = tuple_(u.c.company_id, u.c.unit_id).in_(keys)
    rows = (
        await session.execute(select(u).where(wanted).order_by(u.c.company_id, u.c.unit_id).with_for_update())
    ).all()
    return {(r.company_id, r.unit_id): (dict(r._mapping), (r.company_id, r.unit_id) in created) for r in rows}


async def save_units(session: AsyncSession, states: Sequence[dict[str, Any]]) -> None:
    """Write units' first_time, last_time, open_since and silent (one statement)."""
    if not states:
        return
    stmt = text(
        """UPDATE deal.downtime_units AS u
           SET first_time = v.first_time, last_time = v.last_time, open_since = v.open_since, silent = v.silent,
               updated_at = now()
           FROM unnest(:companies, :units, :firsts, :lasts, :opens, :silents)
                AS v(company_id, unit_id, first_time, last_time, open_since, silent)
           WHERE u.company_id = v.company_id AND u.unit_id = v.unit_id"""
    ).bindparams(
        bindparam("companies", type_=_BIGINTS),
        bindparam("units", type_=_BIGINTS),
        bindparam("firsts", type_=_INSTANTS),
        bindparam("lasts", type_=_INSTANTS),
        bindparam("opens", type_=_INSTANTS),
        bindparam("silents", type_=ARRAY(Boolean)),
    )
    await session.execute(
        stmt,
        {
            "companies": [x["company_id"] for x in states],
            "units": [x["unit_id"] for x in states],
            "firsts": [x["first_time"] for x in states],
            "lasts": [x["last_time"] for x in states],
            "opens": [x["open_since"] for x in states],
            "silents": [x["silent"] for x in states],
        },
    )


async def save_unit(session: AsyncSession, company_id: int, unit_id: int, **values: Any) -> None:
    await session.execute(
        u.update().where(u.c.company_id == company_id, u.c.unit_id == unit_id).values(**values, updated_at=func.now())
    )


async def insert_samples(
    session: AsyncSession, samples: Sequence[tuple[int, int, datetime, bool]]
) -> dict[Key, list[datetime]]:
    """Store (company, unit, time, down) samples (one per unit and time: the caller merged duplicates); an
    existing sample of the same time becomes down if this one is (a repeat changes nothing otherwise).
    Returns the times inserted or changed, per unit."""
    if not samples:
        return {}
    ins = insert(s)
    stmt = ins.on_conflict_do_update(
        index_elements=[s.c.company_id, s.c.unit_id, s.c.time],
        set_={"down": literal(True)},
        where=and_(s.c.down.is_(False), ins.excluded.down.is_(True)),
    ).returning(s.c.company_id, s.c.unit_id, s.c.time)
    ordered = sorted(samples)
    rows = [{"company_id": c, "unit_id": x, "time": t, "down": down} for c, x, t, down in ordered]
    changed: dict[Key, list[datetime]] = {}
    for company_id, unit_id, t in (await session.execute(stmt, rows)).all():
        changed.setdefault((company_id, unit_id), []).append(t)
    return changed


@dataclass(frozen=True)
class Anchor:
    """A unit's latest sample before its earliest new one, and the seconds of its downtimes ended by then."""

    time: datetime
    down: bool
    closed_seconds: float


async def anchors(session: AsyncSession, earliest: dict[Key, datetime]) -> dict[Key, Anchor]:
    """Per unit, the anchor before the given instant (units without an earlier sample are left out)."""
    if not earliest:
        return {}
    keys = list(earliest)
    stmt = text(
        """SELECT b.company_id, b.unit_id, a.time, a.down,
                  (SELECT d.downtime_before_sec + extract(epoch FROM d.recovery_date_time - d.down_date_time)
                   FROM deal.downtimes AS d
                   WHERE d.company_id = b.company_id AND d.unit_id = b.unit_id AND d.down_date_time < a.time
                     AND d.recovery_date_time IS NOT NULL AND d.recovery_date_time <= a.time
                   ORDER BY d.down_date_time DESC LIMIT 1) AS closed
           FROM unnest(:companies, :units, :instants) AS b(company_id, unit_id, instant)
           JOIN LATERAL (SELECT s.time, s.down FROM deal.downtime_samples AS s
                         WHERE s.company_id = b.company_id AND s.unit_id = b.unit_id AND s.time < b.instant
                         ORDER BY s.time DESC LIMIT 1) AS a ON true"""
    ).bindparams(
        bindparam("companies", type_=_BIGINTS),
        bindparam("units", type_=_BIGINTS),
        bindparam("instants", type_=_INSTANTS),
    )
    rows = (await session.execute(stmt, {**_keys(keys), "instants": [earliest[k] for k in keys]})).all()
    return {(r[0], r[1]): Anchor(r[2], r[3], float(r[4] or 0.0)) for r in rows}


def _after(keys: Sequence[Key], anchor_of: dict[Key, datetime | None]) -> dict[str, Any]:
    return {**_keys(keys), "anchors": [anchor_of[k] for k in keys]}


async def rows_after(session: AsyncSession, anchor_of: dict[Key, datetime | None]) -> dict[Key, list[Row]]:
    """Per unit, the downtimes a re-derivation from its anchor may change: those starting after it and
    the one open across it (started at or before it, not ended by it); all of them without an anchor."""
    keys = list(anchor_of)
    if not keys:
        return {}
    stmt = text(
        """SELECT d.company_id, d.unit_id, d.down_date_time, d.recovery_date_time, d.downtime_before_sec
           FROM unnest(:companies, :units, :anchors) AS b(company_id, unit_id, anchor)
           JOIN LATERAL (
               -- the index ranges: after the anchor, and the one downtime begun at or before it if still open
               SELECT * FROM deal.downtimes AS x
               WHERE x.company_id = b.company_id AND x.unit_id = b.unit_id
                 AND x.down_date_time > coalesce(b.anchor, '-infinity')
               UNION ALL
               (SELECT * FROM deal.downtimes AS y
                WHERE y.company_id = b.company_id AND y.unit_id = b.unit_id AND y.down_date_time <= b.anchor
                ORDER BY y.down_date_time DESC LIMIT 1)
           ) AS d ON d.recovery_date_time IS NULL OR d.recovery_date_time > b.anchor OR d.down_date_time > b.anchor
                     OR b.anchor IS NULL
           ORDER BY d.company_id, d.unit_id, d.down_date_time"""
    ).bindparams(
        bindparam("companies", type_=_BIGINTS),
        bindparam("units", type_=_BIGINTS),
        bindparam("anchors", type_=_INSTANTS),
    )
    out: dict[Key, list[Row]] = {k: [] for k in keys}
    for r in (await session.execute(stmt, _after(keys, anchor_of))).all():
        out[(r[0], r[1])].append(Row(r[2], r[3], r[4]))
    return out


async def samples_after(
    session: AsyncSession, anchor_of: dict[Key, datetime | None]
) -> dict[Key, list[tuple[datetime, bool]]]:
    """Per unit, its samples after its anchor (all without one), in time order."""
    keys = list(anchor_of)
    if not keys:
        return {}
    stmt = text(
        """SELECT s.company_id, s.unit_id, s.time, s.down
           FROM unnest(:companies, :units, :anchors) AS b(company_id, unit_id, anchor)
           JOIN deal.downtime_samples AS s ON s.company_id = b.company_id AND s.unit_id = b.unit_id
                AND s.time > coalesce(b.anchor, '-infinity')
           ORDER BY s.company_id, s.unit_id, s.time"""
    ).bindparams(
        bindparam("companies", type_=_BIGINTS),
        bindparam("units", type_=_BIGINTS),
        bindparam("anchors", type_=_INSTANTS),
    )
    out: dict[Key, list[tuple[datetime, bool]]] = {k: [] for k in keys}
    for r in (await session.execute(stmt, _after(keys, anchor_of))).all():
        out[(r[0], r[1])].append((r[2], r[3]))
    return out


async def prune_samples(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete samples older than ``cutoff`` for up to ``limit`` units, keeping each unit's latest sample at
    or before it (the anchor a later sample is derived from); that sample's time becomes the unit's floor."""
    floors = (
        select(
            u.c.company_id,
            u.c.unit_id,
            select(func.max(s.c.time))
            .where(s.c.company_id == u.c.company_id, s.c.unit_id == u.c.unit_id, s.c.time <= cutoff)
            .scalar_subquery()
            .label("floor"),
        )
        .where(or_(u.c.floor_time.is_(None), u.c.floor_time < cutoff), u.c.first_time < cutoff)
        .order_by(u.c.company_id, u.c.unit_id)
        .limit(limit)
        .with_for_update(of=u, skip_locked=True)
        .cte("floors")
    )
    moved = (
        u.update()
        .where(u.c.company_id == floors.c.company_id, u.c.unit_id == floors.c.unit_id, floors.c.floor.is_not(None))
        .values(floor_time=floors.c.floor)
        .returning(u.c.company_id, u.c.unit_id, u.c.floor_time)
    )
    units = (await session.execute(moved)).all()
    deleted = 0
    for company_id, unit_id, floor in units:
        result = await session.execute(
            s.delete().where(s.c.company_id == company_id, s.c.unit_id == unit_id, s.c.time < floor)
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted


# ----------------------------------------------------------------------------- downtimes
async def closed_seconds(session: AsyncSession, company_id: int, unit_id: int, instant: datetime) -> float:
    """Seconds of the unit's downtimes ended at or before ``instant`` (the last one's prefix sum plus its
    length)."""
    total = (
        await session.execute(
            select(d.c.downtime_before_sec + func.extract("epoch", d.c.recovery_date_time - d.c.down_date_time))
            .where(
                d.c.company_id == company_id,
                d.c.unit_id == unit_id,
                d.c.recovery_date_time.is_not(None),
                d.c.recovery_date_time <= instant,
            )
            .order_by(d.c.down_date_time.desc())
            .limit(1)
        )
    ).scalar()
    return 0.0 if total is None else float(total)


async def delete_rows(session: AsyncSession, starts: Sequence[tuple[int, int, datetime]]) -> None:
    """Delete downtimes by (company, unit, down) (one statement)."""
    if not starts:
        return
    stmt = text(
        """DELETE FROM deal.downtimes AS d
           USING unnest(:companies, :units, :downs) AS v(company_id, unit_id, down_date_time)
           WHERE d.company_id = v.company_id AND d.unit_id = v.unit_id AND d.down_date_time = v.down_date_time"""
    ).bindparams(
        bindparam("companies", type_=_BIGINTS), bindparam("units", type_=_BIGINTS), bindparam("downs", type_=_INSTANTS)
    )
    await session.execute(
        stmt, {"companies": [x[0] for x in starts], "units": [x[1] for x in starts], "downs": [x[2] for x in starts]}
    )


async def upsert_rows(session: AsyncSession, rows: Sequence[tuple[dict[str, Any], Row]]) -> None:
    """Write (unit, downtime) pairs: created, or their recovery and prefix sum updated (one statement)."""
    if not rows:
        return
    ins = insert(d)
    stmt = ins.on_conflict_do_update(
        index_elements=[d.c.company_id, d.c.unit_id, d.c.down_date_time],
        set_={
            "recovery_date_time": ins.excluded.recovery_date_time,
            "downtime_before_sec": ins.excluded.downtime_before_sec,
            "updated_at": func.now(),
        },
    )
    columns = ("company_id", "unit_id", "community_code", "cluster_code", "unit_code")
    await session.execute(
        stmt,
        [
            {
                **{c: unit[c] for c in columns},
                "down_date_time": r.down,
                "recovery_date_time": r.recovery,
                "downtime_before_sec": r.before,
            }
            for unit, r in rows
        ],
    )


# ----------------------------------------------------------------------------- the silence check
async def try_silence_lock(session: AsyncSession) -> bool:
    """The silence check's advisory lock for this transaction (False: another replica holds it)."""
    return bool((await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SILENCE_LOCK})).scalar())


async def silent_units(session: AsyncSession, now: datetime, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Units without an open downtime whose newest sample is at or before ``since`` and that the registry
    says are available ``now`` (known, not retired, inside their window); locked, in key order (units
    that a consumer holds are skipped: they are receiving data)."""
    r = community_replica.units
    stmt = (
        select(u)
        .join(r, and_(r.c.id == u.c.unit_id, r.c.company_id == u.c.company_id))
        .where(
            u.c.open_since.is_(None),
            u.c.last_time <= since,
            r.c.retired_at.is_(None),
            or_(r.c.available_from.is_(None), r.c.available_from <= now),
            or_(r.c.available_to.is_(None), r.c.available_to > now),
        )
        .order_by(u.c.company_id, u.c.unit_id)
        .limit(limit)
        .with_for_update(of=u, skip_locked=True)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all()]


# ----------------------------------------------------------------------------- reads
@dataclass(frozen=True)
class ClusterScope:
    company_id: int
    community_code: str
    cluster_code: str


def _cluster(table: Any, scope: ClusterScope) -> Any:
    return and_(
        table.c.company_id == scope.company_id,
        table.c.community_code == scope.community_code,
        table.c.cluster_code == scope.cluster_code,
    )


async def unit_codes(
    session: AsyncSession, scope: ClusterScope, start: datetime | None, end: datetime | None
) -> list[str]:
    """Codes of the cluster's units that have samples processed in [start, end) (each bound optional)."""
    stmt = select(u.c.unit_code).where(_cluster(u, scope))
    if start is not None:
        stmt = stmt.where(u.c.last_time >= start)
    if end is not None:
        stmt = stmt.where(u.c.first_time < end)
    return list((await session.execute(stmt.order_by(u.c.unit_code))).scalars())


async def overlapping(
    session: AsyncSession,
    scope: ClusterScope,
    start: datetime | None,
    end: datetime | None,
    unit_code: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Downtimes overlapping [start, end): (recovery null or ≥ start) and down < end; by start, then unit."""
    stmt = select(
        d.c.community_code, d.c.cluster_code, d.c.unit_code, d.c.down_date_time, d.c.recovery_date_time
    ).where(_cluster(d, scope))
    if unit_code is not None:
        stmt = stmt.where(d.c.unit_code == unit_code)
    if start is not None:
        stmt = stmt.where(or_(d.c.recovery_date_time.is_(None), d.c.recovery_date_time >= start))
    if end is not None:
        stmt = stmt.where(d.c.down_date_time < end)
    stmt = stmt.order_by(d.c.down_date_time, d.c.unit_code).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def cluster_units(session: AsyncSession, scope: ClusterScope) -> list[dict[str, Any]]:
    """The cluster's units in the registry replica with their window, retirement and first sample."""
    r = community_replica.units
    stmt = (
        select(
            r.c.id.label("unit_id"),
            r.c.code.label("unit_code"),
            r.c.available_from,
            r.c.available_to,
            r.c.retired_at,
            u.c.first_time,
        )
        .outerjoin(u, and_(u.c.company_id == r.c.company_id, u.c.unit_id == r.c.id))
        .where(
            r.c.company_id == scope.company_id,
            r.c.community_code == scope.community_code,
            r.c.cluster_code == scope.cluster_code,
        )
        .order_by(r.c.code)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all()]


async def downtime_seconds(
    session: AsyncSession, company_id: int, periods: dict[int, tuple[datetime, datetime]]
) -> dict[int, float]:
    """Per unit (registry id), the seconds of its downtimes inside its period [from, to) (an open one ends
    at the period's end): D(to) − D(from), where D(x), the unit's downtime before x, is read off the last
    downtime begun before x (its prefix sum plus its part before x). Two index lookups per unit, whatever
    the number of downtimes; one statement for the cluster."""
    if not periods:
        return {}
    bounds = select(
        func.unnest(literal(list(periods), type_=ARRAY(BigInteger))).label("unit_id"),
        func.unnest(literal([p[0] for p in periods.values()], type_=ARRAY(DateTime(timezone=True)))).label("p_from"),
        func.unnest(literal([p[1] for p in periods.values()], type_=ARRAY(DateTime(timezone=True)))).label("p_to"),
    ).subquery("bounds")

    def before(instant: Any) -> Any:
        end = func.least(func.coalesce(d.c.recovery_date_time, instant), instant)
        return (
            select(d.c.downtime_before_sec + func.greatest(0, func.extract("epoch", end - d.c.down_date_time)))
            .where(d.c.company_id == company_id, d.c.unit_id == bounds.c.unit_id, d.c.down_date_time < instant)
            .order_by(d.c.down_date_time.desc())
            .limit(1)
            .scalar_subquery()
        )

    stmt = select(
        bounds.c.unit_id,
        func.coalesce(before(bounds.c.p_to), 0).cast(Float),
        func.coalesce(before(bounds.c.p_from), 0).cast(Float),
    )
    return {int(r[0]): max(0.0, float(r[1]) - float(r[2])) for r in (await session.execute(stmt)).all()}
