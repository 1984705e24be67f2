"""SQL of unit data: the registry units a batch names, the history insert, each unit's newest report,
and the seed 004 reads (built as JSON text by PostgreSQL, in unit code order)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import community_replica
from .models import unit_data, unit_data_latest
from .schemas import NETWORK_FIELDS

CHUNK = 2_000  # rows per INSERT (12 parameters each: under PostgreSQL's 32,767)


async def find_units(
    session: AsyncSession, company_id: int, codes: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The company's registry units (retired ones included) by (community, cluster, unit) codes."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    t = community_replica.units
    rows = await session.execute(
        select(t.c.id, t.c.community_code, t.c.cluster_code, t.c.code, t.c.retired_at).where(
            t.c.company_id == company_id, tuple_(t.c.community_code, t.c.cluster_code, t.c.code).in_(wanted)
        )
    )
    return {(r.community_code, r.cluster_code, r.code): dict(r._mapping) for r in rows}


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[tuple[int, int]]:
    """Insert the rows whose (unit, datasetId) is not stored yet; the (unit_id, dataset_id) pairs inserted."""
    inserted: set[tuple[int, int]] = set()
    for start in range(0, len(rows), CHUNK):
        stmt = (
            insert(unit_data)
            .values(list(rows[start : start + CHUNK]))
            .on_conflict_do_nothing(index_elements=[unit_data.c.unit_id, unit_data.c.dataset_id])
            .returning(unit_data.c.unit_id, unit_data.c.dataset_id)
        )
        inserted.update((r[0], r[1]) for r in await session.execute(stmt))
    return inserted


async def raise_latest(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Make each row its unit's newest report unless the stored one has a higher datasetId (one row per unit)."""
    for start in range(0, len(rows), CHUNK):
        stmt = insert(unit_data_latest).values(list(rows[start : start + CHUNK]))
        changed: dict[str, Any] = {c.name: stmt.excluded[c.name] for c in unit_data_latest.columns}
        del changed["unit_id"]
        changed["received_at"] = func.now()
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[unit_data_latest.c.unit_id],
                set_=changed,
                where=unit_data_latest.c.dataset_id < stmt.excluded.dataset_id,
            )
        )


async def unit_codes(session: AsyncSession, company_id: int, community: str, cluster: str) -> list[str]:
    """Codes of the cluster's units that ever reported, in code order."""
    t = unit_data_latest
    rows = await session.execute(
        select(t.c.unit_code)
        .where(t.c.company_id == company_id, t.c.community_code == community, t.c.cluster_code == cluster)
        .order_by(t.c.unit_code)
    )
    return [r[0] for r in rows]


_CLUSTER_LATEST = text(
    """
    SELECT coalesce(json_object_agg(unit_code, document ORDER BY unit_code), '{}'::json)::text
    FROM metering.unit_data_latest
    WHERE company_id = :company AND community_code = :community AND cluster_code = :cluster
      AND dataset_id = (
        SELECT max(dataset_id) FROM metering.unit_data_latest
        WHERE company_id = :company AND community_code = :community AND cluster_code = :cluster
      )
    """
)

# The document without the unit's network identifiers.
_MASKED = "document" + "".join(f" #- '{{oesunit,{name}}}'" for name in NETWORK_FIELDS)
_UNIT_LATEST = text(
    f"""
    SELECT coalesce(json_object_agg(unit_code, {_MASKED}), '{{}}'::json)::text
    FROM metering.unit_data_latest
    WHERE company_id = :company AND unit_id = :unit
    """
)


async def cluster_latest_json(session: AsyncSession, company_id: int, community: str, cluster: str) -> str:
    """``{unit code: document}`` of the cluster's report with the highest datasetId, as JSON text."""
    params = {"company": company_id, "community": community, "cluster": cluster}
    return str((await session.execute(_CLUSTER_LATEST, params)).scalar_one())


async def unit_latest_json(session: AsyncSession, company_id: int, unit_id: int) -> str:
    """``{unit code: document without network identifiers}`` of the unit's newest report, as JSON text."""
    return str((await session.execute(_UNIT_LATEST, {"company": company_id, "unit": unit_id})).scalar_one())
