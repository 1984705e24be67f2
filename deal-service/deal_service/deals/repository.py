"""SQL of deals. Every statement is scoped by company and cluster (and by unit for residents)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import deals as t
from .schemas import Window, Zone


@dataclass(frozen=True)
class DealScope:
    """Whose deals: a cluster of a company, and for a resident the unit that takes part (either side)."""

    company_id: int
    community_code: str
    cluster_code: str
    unit_code: str | None = None


def _order_key(table: Any) -> ColumnElement[Any]:
    # Newer report first; within one second, the report that went further; then more energy.
    return tuple_(table.report_time, table.progress, func.coalesce(table.cumulate_amount_wh, -1))


async def upsert_deals(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """One multi-row INSERT ... ON CONFLICT (one row per deal: the caller keeps the newest report of
    each). An existing deal takes the report only when it is newer (``_order_key``): a late or
    repeated report changes nothing. Returns the (company, deal) pairs created or moved forward."""
    if not rows:
        return []
    # One statement compiled once and cached; the rows go as parameters, which SQLAlchemy sends as
    # multi-row VALUES pages ("insertmanyvalues"): no statement compiled per batch with its thousands
    # of bind parameters.
    ins = insert(t)
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.company_id, t.c.deal_id],
        set_={
            **{
                c.name: ins.excluded[c.name] for c in t.columns if c.name not in ("company_id", "deal_id", "updated_at")
            },
            "updated_at": func.now(),
        },
        where=_order_key(ins.excluded) > _order_key(t.c),
    ).returning(t.c.company_id, t.c.deal_id)
    return [(r.company_id, r.deal_id) for r in (await session.execute(stmt, list(rows))).all()]


def _scoped(stmt: Select[Any], scope: DealScope) -> Select[Any]:
    stmt = stmt.where(
        t.c.company_id == scope.company_id,
        t.c.community_code == scope.community_code,
        t.c.cluster_code == scope.cluster_code,
    )
    if scope.unit_code is not None:
        stmt = stmt.where(or_(t.c.charge_unit_id == scope.unit_code, t.c.discharge_unit_id == scope.unit_code))
    return stmt


def _windowed(stmt: Select[Any], window: Window | None) -> Select[Any]:
    if window is not None and window.start is not None:
        stmt = stmt.where(t.c.create_date_time >= window.start)
    if window is not None and window.end is not None:
        stmt = stmt.where(t.c.create_date_time < window.end)
    return stmt


async def reports(
    session: AsyncSession,
    scope: DealScope,
    *,
    window: Window | None = None,
    live_since: int | None = None,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The newest report of each deal, ordered by createDateTime (then dealId). ``live_since``: only
    deals not deactivated and reported after that epoch second."""
    stmt = _windowed(_scoped(select(t.c.report), scope), window)
    if live_since is not None:
        stmt = stmt.where(t.c.deactivate_date_time.is_(None), t.c.report_time > live_since)
    stmt = stmt.order_by(t.c.create_date_time, t.c.deal_id).limit(limit).offset(offset)
    return [r.report for r in (await session.execute(stmt)).all()]


async def created_range(session: AsyncSession, scope: DealScope) -> tuple[datetime | None, datetime | None]:
    stmt = _scoped(select(func.min(t.c.create_date_time), func.max(t.c.create_date_time)), scope)
    row = (await session.execute(stmt)).one()
    return row[0], row[1]


async def hourly_sums(
    session: AsyncSession, scope: DealScope, zone: Zone, window: Window | None
) -> list[tuple[int, Decimal]]:
    """Sum of cumulateAmountWh by the hour of day (0..23) of createDateTime in ``zone``: an IANA zone's
    hours follow its DST (PostgreSQL's AT TIME ZONE), a fixed offset shifts UTC."""
    if zone.name is not None:
        local = func.timezone(zone.name, t.c.create_date_time)
    else:
        local = func.timezone("UTC", t.c.create_date_time + timedelta(minutes=zone.minutes or 0))
    hour = func.extract("hour", local).label("hour")
    sums = cast("Select[Any]", select(hour, func.sum(t.c.cumulate_amount_wh)))
    stmt = _windowed(_scoped(sums, scope), window)
    stmt = stmt.where(t.c.cumulate_amount_wh.is_not(None)).group_by(hour).order_by(hour)
    return [(int(h), s) for h, s in (await session.execute(stmt)).all()]
