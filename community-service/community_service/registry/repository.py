"""SQL of the registry. Every statement is scoped by company (child rows carry ``company_id``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Select, String, cast, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import replicas
from .models import clusters, communities, unit_residents, units

Lock = Literal["share", "update"] | None


def now() -> Any:
    """The transaction's timestamp (every row a cascade retires gets the same ``retired_at``)."""
    return func.now()


def _locked(stmt: Select[Any], lock: Lock) -> Select[Any]:
    if lock == "share":
        return stmt.with_for_update(read=True)
    if lock == "update":
        return stmt.with_for_update()
    return stmt


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row._mapping) if row is not None else None


# ----------------------------------------------------------------------------------------------- selects
def _cluster_select() -> Select[Any]:
    return select(*clusters.c, communities.c.code.label("community_code")).join(
        communities, communities.c.id == clusters.c.community_id
    )


def _unit_select() -> Select[Any]:
    residents = (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(unit_residents.c.user_id, unit_residents.c.user_id)),
                cast(literal("{}"), ARRAY(BigInteger)),
            )
        )
        .where(unit_residents.c.unit_id == units.c.id)
        .scalar_subquery()
    )
    return (
        select(
            *units.c,
            communities.c.code.label("community_code"),
            clusters.c.code.label("cluster_code"),
            residents.label("resident_ids"),
        )
        .join(clusters, clusters.c.id == units.c.cluster_id)
        .join(communities, communities.c.id == units.c.community_id)
    )


# ----------------------------------------------------------------------------------------------- communities
async def insert_community(session: AsyncSession, company_id: int, code: str, name: str) -> dict[str, Any] | None:
    """The new community, or None when the company already has one with this code."""
    stmt = (
        insert(communities)
        .values(company_id=company_id, code=code, name=name)
        .on_conflict_do_nothing(index_elements=[communities.c.company_id, communities.c.code])
        .returning(*communities.c)
    )
    return _one((await session.execute(stmt)).first())


async def get_community(session: AsyncSession, company_id: int, code: str, lock: Lock = None) -> dict[str, Any] | None:
    stmt = select(communities).where(communities.c.company_id == company_id, communities.c.code == code)
    return _one((await session.execute(_locked(stmt, lock))).first())


async def list_communities(
    session: AsyncSession, company_id: int, include_retired: bool, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = select(communities).where(communities.c.company_id == company_id)
    if not include_retired:
        stmt = stmt.where(communities.c.retired_at.is_(None))
    stmt = stmt.order_by(communities.c.code).limit(limit).offset(offset)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def update_community(session: AsyncSession, community_id: int, values: dict[str, Any]) -> dict[str, Any]:
    stmt = (
        update(communities)
        .where(communities.c.id == community_id)
        .values(**values, updated_at=func.now(), version=communities.c.version + 1)
        .returning(*communities.c)
    )
    return dict((await session.execute(stmt)).one()._mapping)


# ----------------------------------------------------------------------------------------------- clusters
async def insert_cluster(session: AsyncSession, company_id: int, community_id: int, code: str, name: str) -> int | None:
    """The new cluster's id, or None when the community already has one with this code."""
    stmt = (
        insert(clusters)
        .values(company_id=company_id, community_id=community_id, code=code, name=name)
        .on_conflict_do_nothing(index_elements=[clusters.c.community_id, clusters.c.code])
        .returning(clusters.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_cluster(
    session: AsyncSession, company_id: int, community_id: int, code: str, lock: Lock = None
) -> dict[str, Any] | None:
    stmt = _cluster_select().where(
        clusters.c.company_id == company_id, clusters.c.community_id == community_id, clusters.c.code == code
    )
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share", of=clusters)
    return _one((await session.execute(stmt)).first())


async def cluster_states(session: AsyncSession, cluster_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Clusters with their community's code (responses and events), in code order."""
    if not cluster_ids:
        return []
    stmt = _cluster_select().where(clusters.c.id.in_(cluster_ids)).order_by(clusters.c.code)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def list_clusters(
    session: AsyncSession, company_id: int, community_id: int, include_retired: bool, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = _cluster_select().where(clusters.c.company_id == company_id, clusters.c.community_id == community_id)
    if not include_retired:
        stmt = stmt.where(clusters.c.retired_at.is_(None))
    stmt = stmt.order_by(clusters.c.code).limit(limit).offset(offset)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def update_cluster(session: AsyncSession, cluster_id: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(clusters)
        .where(clusters.c.id == cluster_id)
        .values(**values, updated_at=func.now(), version=clusters.c.version + 1)
    )


# ----------------------------------------------------------------------------------------------- units
async def insert_unit(
    session: AsyncSession,
    company_id: int,
    community_id: int,
    cluster_id: int,
    code: str,
    name: str,
    available_from: datetime | None,
    available_to: datetime | None,
) -> int | None:
    """The new unit's id, or None when the cluster already has one with this code."""
    stmt = (
        insert(units)
        .values(
            company_id=company_id,
            community_id=community_id,
            cluster_id=cluster_id,
            code=code,
            name=name,
            available_from=available_from,
            available_to=available_to,
        )
        .on_conflict_do_nothing(index_elements=[units.c.cluster_id, units.c.code])
        .returning(units.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_unit(
    session: AsyncSession, company_id: int, cluster_id: int, code: str, lock: Lock = None
) -> dict[str, Any] | None:
    stmt = _unit_select().where(
        units.c.company_id == company_id, units.c.cluster_id == cluster_id, units.c.code == code
    )
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share", of=units)
    return _one((await session.execute(stmt)).first())


async def unit_states(session: AsyncSession, unit_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Units with their parents' codes and residents (responses and events), in code order."""
    if not unit_ids:
        return []
    stmt = _unit_select().where(units.c.id.in_(unit_ids)).order_by(units.c.code)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def list_units(
    session: AsyncSession, company_id: int, cluster_id: int, include_retired: bool, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = _unit_select().where(units.c.company_id == company_id, units.c.cluster_id == cluster_id)
    if not include_retired:
        stmt = stmt.where(units.c.retired_at.is_(None))
    stmt = stmt.order_by(units.c.code).limit(limit).offset(offset)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def update_unit(session: AsyncSession, unit_id: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(units).where(units.c.id == unit_id).values(**values, updated_at=func.now(), version=units.c.version + 1)
    )


async def touch_unit(session: AsyncSession, unit_id: int) -> None:
    """A change of the unit's residents is a change of the unit: ``version`` + 1, ``updated_at`` now."""
    await update_unit(session, unit_id, {})


# ----------------------------------------------------------------------------------------------- retiring
async def retire_clusters_of(session: AsyncSession, community_id: int) -> list[int]:
    """Retires the community's active clusters; their ids."""
    stmt = (
        update(clusters)
        .where(clusters.c.community_id == community_id, clusters.c.retired_at.is_(None))
        .values(retired_at=func.now(), updated_at=func.now(), version=clusters.c.version + 1)
        .returning(clusters.c.id)
    )
    return list((await session.execute(stmt)).scalars())


async def retire_units_of(
    session: AsyncSession, *, community_id: int | None = None, cluster_id: int | None = None
) -> list[int]:
    """Retires the active units of a community or of a cluster; their ids."""
    where = units.c.community_id == community_id if cluster_id is None else units.c.cluster_id == cluster_id
    stmt = (
        update(units)
        .where(where, units.c.retired_at.is_(None))
        .values(retired_at=func.now(), updated_at=func.now(), version=units.c.version + 1)
        .returning(units.c.id)
    )
    return list((await session.execute(stmt)).scalars())


# ----------------------------------------------------------------------------------------------- residents
def _residents_select(company_id: int, unit_id: int) -> Select[Any]:
    m = replicas.memberships_table
    return (
        select(unit_residents.c.user_id, m.c.username, unit_residents.c.created_at.label("linked_at"))
        .select_from(unit_residents)
        .outerjoin(
            m,
            (m.c.company_id == unit_residents.c.company_id)
            & (m.c.kind == "user")
            & (m.c.member == cast(unit_residents.c.user_id, String)),
        )
        .where(unit_residents.c.company_id == company_id, unit_residents.c.unit_id == unit_id)
    )


async def list_residents(session: AsyncSession, company_id: int, unit_id: int) -> list[dict[str, Any]]:
    """The unit's residents with their usernames from the membership replica, by user id."""
    stmt = _residents_select(company_id, unit_id).order_by(unit_residents.c.user_id)
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def get_resident(session: AsyncSession, company_id: int, unit_id: int, user_id: int) -> dict[str, Any] | None:
    stmt = _residents_select(company_id, unit_id).where(unit_residents.c.user_id == user_id)
    return _one((await session.execute(stmt)).first())


async def link_resident(session: AsyncSession, company_id: int, unit_id: int, user_id: int) -> bool:
    """Links the user to the unit; False when already linked."""
    stmt = (
        insert(unit_residents)
        .values(unit_id=unit_id, user_id=user_id, company_id=company_id)
        .on_conflict_do_nothing(index_elements=[unit_residents.c.unit_id, unit_residents.c.user_id])
        .returning(unit_residents.c.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def unlink_resident(session: AsyncSession, company_id: int, unit_id: int, user_id: int) -> bool:
    """Unlinks the user from the unit; False when not linked."""
    stmt = (
        unit_residents.delete()
        .where(
            unit_residents.c.company_id == company_id,
            unit_residents.c.unit_id == unit_id,
            unit_residents.c.user_id == user_id,
        )
        .returning(unit_residents.c.user_id)
    )
    return (await session.execute(stmt)).first() is not None


# ----------------------------------------------------------------------------------------------- outline
def _instant(expr: str) -> str:
    """ISO 8601 UTC with Z; six fractional digits only when there are any (as pydantic writes them)."""
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL ELSE "
        f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN date_part('microseconds', {expr})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({expr} AT TIME ZONE 'UTC', '.US') END || 'Z' END"
    )


# The whole outline's JSON is built by PostgreSQL in one statement (50,000 units: building the nested
# objects in Python costs several times more; bench/community_outline.py). json (not jsonb) keeps the
# keys in the aggregate's ORDER BY, i.e. code order ("C" collation). {join} is LEFT (staff: empty
# clusters and communities too) or INNER (resident: only the parents of the selected units).
_OUTLINE = f"""
    WITH u AS (
        SELECT n.cluster_id, json_object_agg(n.code, json_build_object(
            'communityId', c.code, 'clusterId', k.code, 'id', n.code, 'name', n.name,
            'available_from', {_instant("n.available_from")},
            'available_to', {_instant("n.available_to")}
        ) ORDER BY n.code) AS units
        FROM community.units AS n
        JOIN community.clusters AS k ON k.id = n.cluster_id
        JOIN community.communities AS c ON c.id = n.community_id
        WHERE n.company_id = :company_id AND n.retired_at IS NULL {{unit_filter}}
        GROUP BY n.cluster_id
    ), k AS (
        SELECT k.community_id, json_object_agg(k.code, json_build_object(
            'communityId', c.code, 'id', k.code, 'name', k.name, 'units', coalesce(u.units, '{{{{}}}}'::json)
        ) ORDER BY k.code) AS clusters
        FROM community.clusters AS k
        JOIN community.communities AS c ON c.id = k.community_id
        {{join}} JOIN u ON u.cluster_id = k.id
        WHERE k.company_id = :company_id AND k.retired_at IS NULL
        GROUP BY k.community_id
    )
    SELECT json_build_object('communities', coalesce(json_object_agg(c.code, json_build_object(
        'id', c.code, 'name', c.name, 'clusters', coalesce(k.clusters, '{{{{}}}}'::json)
    ) ORDER BY c.code), '{{{{}}}}'::json))::text
    FROM community.communities AS c
    {{join}} JOIN k ON k.community_id = c.id
    WHERE c.company_id = :company_id AND c.retired_at IS NULL
"""
_AVAILABLE_AT = (
    "AND (n.available_from IS NULL OR n.available_from <= :asof) AND (n.available_to IS NULL OR n.available_to > :asof)"
)
_STAFF_ALL = text(_OUTLINE.format(unit_filter="", join="LEFT"))
_STAFF_ASOF = text(_OUTLINE.format(unit_filter=_AVAILABLE_AT, join="LEFT"))
_RESIDENT = text(_OUTLINE.format(unit_filter="AND n.id = ANY(CAST(:unit_ids AS bigint[]))", join=""))


async def staff_outline_json(session: AsyncSession, company_id: int, asof: datetime | None) -> str:
    if asof is None:
        result = await session.execute(_STAFF_ALL, {"company_id": company_id})
    else:
        result = await session.execute(_STAFF_ASOF, {"company_id": company_id, "asof": asof})
    return str(result.scalar_one())


async def resident_outline_json(session: AsyncSession, company_id: int, unit_ids: Sequence[int]) -> str:
    result = await session.execute(_RESIDENT, {"company_id": company_id, "unit_ids": list(unit_ids)})
    return str(result.scalar_one())
