"""community-service answers the registry guards from its own tables (other services from their replica)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import ClusterRef, UnitRef

from .models import clusters, communities, unit_residents, units


def _units_query() -> Select[Any]:
    residents = (
        select(func.coalesce(func.array_agg(unit_residents.c.user_id), []))
        .where(unit_residents.c.unit_id == units.c.id)
        .scalar_subquery()
    )
    return (
        select(
            units.c.company_id,
            units.c.community_id,
            communities.c.code.label("community_code"),
            units.c.cluster_id,
            clusters.c.code.label("cluster_code"),
            units.c.id.label("unit_id"),
            units.c.code.label("unit_code"),
            residents.label("resident_ids"),
            units.c.available_from,
            units.c.available_to,
            units.c.retired_at,
        )
        .join(clusters, clusters.c.id == units.c.cluster_id)
        .join(communities, communities.c.id == units.c.community_id)
    )


class OwnRegistryLookup:
    """``gridcommons.community.RegistryLookup`` over the registry tables themselves."""

    async def cluster(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str
    ) -> ClusterRef | None:
        row = (
            await session.execute(
                select(
                    clusters.c.community_id,
                    communities.c.code,
                    clusters.c.id,
                    clusters.c.code,
                    clusters.c.retired_at,
                )
                .join(communities, communities.c.id == clusters.c.community_id)
                .where(
                    communities.c.company_id == company_id,
                    communities.c.code == community_code,
                    clusters.c.code == cluster_code,
                )
            )
        ).first()
        if row is None:
            return None
        return ClusterRef(
            company_id=company_id,
            community_id=row[0],
            community_code=row[1],
            cluster_id=row[2],
            cluster_code=row[3],
            retired=row[4] is not None,
        )

    async def unit(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str, unit_code: str
    ) -> UnitRef | None:
        row = (
            await session.execute(
                _units_query().where(
                    units.c.company_id == company_id,
                    communities.c.code == community_code,
                    clusters.c.code == cluster_code,
                    units.c.code == unit_code,
                )
            )
        ).first()
        return None if row is None else UnitRef.from_row(row._mapping)

    async def resident_units(self, session: AsyncSession, company_id: int, user_id: int) -> list[UnitRef]:
        linked = select(unit_residents.c.unit_id).where(
            unit_residents.c.company_id == company_id, unit_residents.c.user_id == user_id
        )
        rows = await session.execute(
            _units_query()
            .where(units.c.company_id == company_id, units.c.id.in_(linked))
            .order_by(communities.c.code, clusters.c.code, units.c.code)
        )
        return [UnitRef.from_row(r._mapping) for r in rows]
