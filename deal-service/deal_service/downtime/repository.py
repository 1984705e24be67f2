"""SQL of downtime. Every statement is scoped by company (and by unit or cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, and_, func, literal, or_, select, text
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


# ----------------------------------------------------------------------------- units
async def lock_unit(session: AsyncSession, unit: dict[str, Any], first_time: datetime) -> tuple[dict[str, Any], bool]:
    """The unit's processing state, locked for this transaction, and whether it was created now (at
    ``first_time``)."""
    where = (u.c.company_id == unit["company_id"], u.c.unit_id == unit["unit_id"])
    row = (await session.execute(select(u).where(*where).with_for_update())).first()
    if row is not None:
        return dict(row._mapping), False
    created = (
        await session.execute(
            insert(u)
            .values(
                company_id=unit["company_id"],
                unit_id=unit["unit_id"],
                community_code=unit["community_code"],
                cluster_code=unit["cluster_code"],
                unit_code=unit["unit_code"],
                first_time=first_time,
                last_time=first_time,
            )
            .on_conflict_do_nothing()
            .returning(*u.c)
        )
    ).first()
    if created is not None:
        return dict(created._mapping), True
    row = (await session.execute(select(u).where(*where).with_for_update())).one()  # created concurrently
    return dict(row._mapping), False


async def save_unit(session: AsyncSession, company_id: int, unit_id: int, **values: Any) -> None:
    await session.execute(
        u.update().where(u.c.company_id == company_id, u.c.unit_id == unit_id).values(**values, updated_at=func.now())
    )


# ----------------------------------------------------------------------------- samples
async def insert_samples(
    session: AsyncSession, company_id: int, unit_id: int, samples: Sequence[tuple[datetime, bool]]
) -> list[datetime]:
    """Store samples (one per time: the caller merged duplicates); an existing sample of the same time
    becomes down if this one is (a repeat changes nothing otherwise). Returns the times inserted or
    changed."""
    if not samples:
        return []
    ins = insert(s)
    stmt = ins.on_conflict_do_update(
        index_elements=[s.c.company_id, s.c.unit_id, s.c.time],
        set_={"down": literal(True)},
        where=and_(s.c.down.is_(False), ins.excluded.down.is_(True)),
    ).returning(s.c.time)
    rows = [{"company_id": company_id, "unit_id": unit_id, "time": t, "down": down} for t, down in samples]
    return list((await session.execute(stmt, rows)).scalars())


async def sample_before(
    session: AsyncSession, company_id: int, unit_id: int, instant: datetime
) -> tuple[datetime, bool] | None:
    """The unit's latest sample before ``instant`` (time, down)."""
    row = (
        await session.execute(
            select(s.c.time, s.c.down)
            .where(s.c.company_id == company_id, s.c.unit_id == unit_id, s.c.time < instant)
            .order_by(s.c.time.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def samples_after(
    session: AsyncSession, company_id: int, unit_id: int, after: datetime | None
) -> list[tuple[datetime, bool]]:
    """The unit's samples after ``after`` (all when None), in time order."""
    stmt = select(s.c.time, s.c.down).where(s.c.company_id == company_id, s.c.unit_id == unit_id)
    if after is not None:
        stmt = stmt.where(s.c.time > after)
    return [(r[0], r[1]) for r in (await session.execute(stmt.order_by(s.c.time))).all()]


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
async def rows_from(session: AsyncSession, company_id: int, unit_id: int, anchor: datetime | None) -> list[Row]:
    """The unit's downtimes a re-derivation from ``anchor`` may change: those starting after it and the
    one still open at it (started at or before it, not ended by it); all of them when None."""
    stmt = select(d.c.down_date_time, d.c.recovery_date_time, d.c.downtime_before_sec).where(
        d.c.company_id == company_id, d.c.unit_id == unit_id
    )
    if anchor is not None:
        stmt = stmt.where(
            or_(d.c.down_date_time > anchor, d.c.recovery_date_time.is_(None), d.c.recovery_date_time > anchor)
        )
    return [Row(r[0], r[1], r[2]) for r in (await session.execute(stmt.order_by(d.c.down_date_time))).all()]


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


async def delete_rows(session: AsyncSession, company_id: int, unit_id: int, starts: Sequence[datetime]) -> None:
    if starts:
        await session.execute(
            d.delete().where(d.c.company_id == company_id, d.c.unit_id == unit_id, d.c.down_date_time.in_(starts))
        )


async def upsert_rows(session: AsyncSession, unit: dict[str, Any], rows: Sequence[Row]) -> None:
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
    codes = {k: unit[k] for k in ("company_id", "unit_id", "community_code", "cluster_code", "unit_code")}
    await session.execute(
        stmt,
        [
            {**codes, "down_date_time": r.down, "recovery_date_time": r.recovery, "downtime_before_sec": r.before}
            for r in rows
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
