"""SQL of scenarios and choices. Every statement is scoped by company. The registry tables are only read
(codes of a scenario's scope)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import UnitRef

from ..registry.models import clusters, communities, units
from .models import scenario_choices, scenarios


def visible_to(unit: UnitRef) -> ColumnElement[bool]:
    """The visibility rule of ``visibility.is_visible`` as one predicate on ``scenarios`` (company and
    retirement apart)."""
    s = scenarios.c
    return or_(
        and_(s.community_id.is_(None), s.cluster_id.is_(None), s.unit_id.is_(None)),
        and_(s.community_id == unit.community_id, s.cluster_id.is_(None), s.unit_id.is_(None)),
        and_(s.community_id == unit.community_id, s.cluster_id == unit.cluster_id, s.unit_id.is_(None)),
        and_(s.community_id == unit.community_id, s.cluster_id == unit.cluster_id, s.unit_id == unit.unit_id),
    )


def _with_codes() -> Select[Any]:
    """Scenarios with the codes of their scope (item shape of seed 004: the ids are codes)."""
    return (
        select(
            scenarios.c.id,
            scenarios.c.company_id,
            communities.c.code.label("community_id"),
            clusters.c.code.label("cluster_id"),
            units.c.code.label("unit_id"),
            scenarios.c.created_at.label("created"),
            scenarios.c.name,
            scenarios.c.description,
            scenarios.c.data,
            scenarios.c.updated_at,
            scenarios.c.retired_at,
        )
        .select_from(scenarios)
        .outerjoin(communities, communities.c.id == scenarios.c.community_id)
        .outerjoin(clusters, clusters.c.id == scenarios.c.cluster_id)
        .outerjoin(units, units.c.id == scenarios.c.unit_id)
    )


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


async def available(session: AsyncSession, unit: UnitRef) -> list[dict[str, Any]]:
    stmt = (
        _with_codes()
        .where(scenarios.c.company_id == unit.company_id, scenarios.c.retired_at.is_(None), visible_to(unit))
        .order_by(scenarios.c.name, scenarios.c.id)
    )
    return _rows(await session.execute(stmt))


async def is_available(session: AsyncSession, unit: UnitRef, scenario_id: int) -> bool:
    stmt = select(scenarios.c.id).where(
        scenarios.c.company_id == unit.company_id,
        scenarios.c.id == scenario_id,
        scenarios.c.retired_at.is_(None),
        visible_to(unit),
    )
    return (await session.execute(stmt)).first() is not None


def _latest_choice(company_id: int, unit_id: int) -> Select[Any]:
    return (
        select(scenario_choices.c.scenario_id)
        .where(scenario_choices.c.company_id == company_id, scenario_choices.c.unit_id == unit_id)
        .order_by(scenario_choices.c.created_at.desc(), scenario_choices.c.id.desc())
        .limit(1)
    )


async def current_scenario_id(session: AsyncSession, company_id: int, unit_id: int) -> int | None:
    """The scenario of the unit's newest choice (None: never chosen, or un-selected)."""
    return (await session.execute(_latest_choice(company_id, unit_id))).scalar_one_or_none()


async def current_scenario(session: AsyncSession, company_id: int, unit_id: int) -> dict[str, Any] | None:
    latest = _latest_choice(company_id, unit_id).scalar_subquery()
    stmt = _with_codes().where(scenarios.c.company_id == company_id, scenarios.c.id == latest)
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def current_data(session: AsyncSession, company_id: int, unit_id: int) -> str | None:
    """The document of the unit's current scenario, in one statement (the devices' polling path)."""
    latest = _latest_choice(company_id, unit_id).scalar_subquery()
    stmt = select(scenarios.c.data).where(scenarios.c.company_id == company_id, scenarios.c.id == latest)
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_choice(
    session: AsyncSession, company_id: int, unit_id: int, scenario_id: int | None, chosen_by: int | None
) -> dict[str, Any]:
    stmt = (
        insert(scenario_choices)
        .values(company_id=company_id, unit_id=unit_id, scenario_id=scenario_id, chosen_by=chosen_by)
        .returning(*scenario_choices.c)
    )
    return dict((await session.execute(stmt)).one()._mapping)


async def lock_unit_choices(session: AsyncSession, unit_id: int) -> None:
    """Serialises the choices of one unit until the transaction ends (two residents choosing at once:
    the second sees the first's choice)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended("scenario-choice", unit_id))))


async def choices(
    session: AsyncSession, company_id: int, unit_id: int, limit: int, offset: int
) -> list[dict[str, Any]]:
    c = scenario_choices.c
    stmt = (
        select(
            c.id,
            c.scenario_id,
            scenarios.c.name.label("scenario_name"),
            c.chosen_by,
            c.created_at.label("chosen_at"),
        )
        .select_from(scenario_choices)
        .outerjoin(scenarios, scenarios.c.id == c.scenario_id)
        .where(c.company_id == company_id, c.unit_id == unit_id)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return _rows(await session.execute(stmt))


# ----------------------------------------------------------------------------- scopes and the staff API
async def scope_ids(
    session: AsyncSession, company_id: int, community: str, cluster: str | None, unit: str | None
) -> dict[str, Any] | None:
    """Internal ids (and retirement) of the records named by codes, or None when one is unknown."""
    cols: list[Any] = [communities.c.id.label("community_id"), communities.c.retired_at.label("community_retired")]
    stmt = select().where(communities.c.company_id == company_id, communities.c.code == community)
    frm: Any = communities
    if cluster is not None:
        frm = frm.join(clusters, and_(clusters.c.community_id == communities.c.id, clusters.c.code == cluster))
        cols += [clusters.c.id.label("cluster_id"), clusters.c.retired_at.label("cluster_retired")]
    if unit is not None:
        frm = frm.join(units, and_(units.c.cluster_id == clusters.c.id, units.c.code == unit))
        cols += [units.c.id.label("unit_id"), units.c.retired_at.label("unit_retired")]
    row = (await session.execute(stmt.add_columns(*cols).select_from(frm))).first()
    return dict(row._mapping) if row else None


async def unit_id_of(session: AsyncSession, company_id: int, community: str, cluster: str, unit: str) -> int | None:
    found = await scope_ids(session, company_id, community, cluster, unit)
    return None if found is None else int(found["unit_id"])


async def insert_scenario(session: AsyncSession, values: dict[str, Any]) -> int:
    stmt = insert(scenarios).values(**values).returning(scenarios.c.id)
    return int((await session.execute(stmt)).scalar_one())


async def name_taken(
    session: AsyncSession, company_id: int, scope: dict[str, int | None], name: str, except_id: int | None = None
) -> bool:
    s = scenarios.c
    stmt = select(s.id).where(
        s.company_id == company_id,
        s.community_id.is_not_distinct_from(scope["community_id"]),
        s.cluster_id.is_not_distinct_from(scope["cluster_id"]),
        s.unit_id.is_not_distinct_from(scope["unit_id"]),
        s.name == name,
    )
    if except_id is not None:
        stmt = stmt.where(s.id != except_id)
    return (await session.execute(stmt)).first() is not None


async def get(session: AsyncSession, company_id: int, scenario_id: int) -> dict[str, Any] | None:
    stmt = _with_codes().where(scenarios.c.company_id == company_id, scenarios.c.id == scenario_id)
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def lock(session: AsyncSession, company_id: int, scenario_id: int) -> dict[str, Any] | None:
    """The scenario row (internal scope ids), locked until the transaction ends."""
    stmt = (
        select(scenarios).where(scenarios.c.company_id == company_id, scenarios.c.id == scenario_id).with_for_update()
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def lock_by_scope_name(
    session: AsyncSession, company_id: int, community_id: int, cluster_id: int, unit_id: int, name: str
) -> dict[str, Any] | None:
    stmt = (
        select(scenarios)
        .where(
            scenarios.c.company_id == company_id,
            scenarios.c.community_id == community_id,
            scenarios.c.cluster_id == cluster_id,
            scenarios.c.unit_id == unit_id,
            scenarios.c.name == name,
        )
        .with_for_update()
    )
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def update_scenario(session: AsyncSession, company_id: int, scenario_id: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(scenarios)
        .where(scenarios.c.company_id == company_id, scenarios.c.id == scenario_id)
        .values(**values, updated_at=func.now())
    )


async def retire(session: AsyncSession, company_id: int, scenario_id: int) -> None:
    await session.execute(
        update(scenarios)
        .where(scenarios.c.company_id == company_id, scenarios.c.id == scenario_id, scenarios.c.retired_at.is_(None))
        .values(retired_at=func.now())
    )


async def list_scenarios(
    session: AsyncSession,
    company_id: int,
    *,
    community: str | None,
    cluster: str | None,
    unit: str | None,
    include_retired: bool,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The company's scenarios; each code given narrows to scenarios scoped at or below that record."""
    stmt = _with_codes().where(scenarios.c.company_id == company_id)
    if community is not None:
        stmt = stmt.where(communities.c.code == community)
    if cluster is not None:
        stmt = stmt.where(clusters.c.code == cluster)
    if unit is not None:
        stmt = stmt.where(units.c.code == unit)
    if not include_retired:
        stmt = stmt.where(scenarios.c.retired_at.is_(None))
    stmt = stmt.order_by(scenarios.c.name, scenarios.c.id).limit(limit).offset(offset)
    return _rows(await session.execute(stmt))
