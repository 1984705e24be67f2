"""SQL of unit data: the registry units a batch names, the history insert, each unit's newest report,
and the seed 004 reads (built as JSON text by PostgreSQL, in unit code order)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import SCHEMA, community_replica
from .models import unit_data_latest
from .schemas import NETWORK_FIELDS


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


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside its transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


# The rows as arrays (one parameter per column, documents as JSON text): one statement per batch
# whatever its size, no per-row bind parameters to compile.
_COLUMNS = (
    "company_id, unit_id, community_code, cluster_code, unit_code, dataset_id, time, rsoc, operation_mode, "
    "remaining_capacity_wh, is_grid_master, document"
)
_INCOMING = f"""
    SELECT company_id, unit_id, community_code, cluster_code, unit_code, dataset_id, time, rsoc, operation_mode,
           remaining_capacity_wh, is_grid_master, document::jsonb
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[],
                $8::float8[], $9::text[], $10::float8[], $11::boolean[], $12::text[])
      AS i({_COLUMNS})
"""
# unit_data is partitioned by time, so its primary key is (unit_id, dataset_id, time): the key of the
# idempotency rule, (unit, datasetId), is checked here against every partition (a probe of each partition's
# primary key index), under a per-unit lock (``lock_units``) so that two batches carrying the same (unit,
# datasetId) with different times cannot both insert it. ON CONFLICT still catches the common redelivery (the
# same time) without waiting for the check.
# The probe is a LATERAL subquery with LIMIT, which PostgreSQL runs once per incoming row (an index probe of
# each partition): a NOT EXISTS would be planned as a hash anti join reading the whole history per batch
# (measured: a sequential scan of every partition, bench/README.md "unit_data_ingest").
INSERT_NEW = f"""
    INSERT INTO {SCHEMA}.unit_data ({_COLUMNS})
    SELECT n.* FROM ({_INCOMING}) AS n
    LEFT JOIN LATERAL (
      SELECT true AS found FROM {SCHEMA}.unit_data d
      WHERE d.unit_id = n.unit_id AND d.dataset_id = n.dataset_id
      LIMIT 1
    ) stored ON true
    WHERE stored.found IS NULL
    ON CONFLICT (unit_id, dataset_id, time) DO NOTHING
    RETURNING unit_id, dataset_id
"""
# Transaction-level advisory locks, one per unit, taken in the order of the keys given (sorted by unit).
LOCK_UNITS = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"
RAISE_LATEST = f"""
    INSERT INTO {SCHEMA}.unit_data_latest AS l ({_COLUMNS})
    {_INCOMING}
    ON CONFLICT (unit_id) DO UPDATE SET
      company_id = excluded.company_id, community_code = excluded.community_code,
      cluster_code = excluded.cluster_code, unit_code = excluded.unit_code, dataset_id = excluded.dataset_id,
      time = excluded.time, rsoc = excluded.rsoc, operation_mode = excluded.operation_mode,
      remaining_capacity_wh = excluded.remaining_capacity_wh, is_grid_master = excluded.is_grid_master,
      document = excluded.document, received_at = now()
    WHERE l.dataset_id < excluded.dataset_id
"""
_NAMES = [name.strip() for name in _COLUMNS.split(",")]


def _arrays(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[r[name] for r in rows] for name in _NAMES]


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[tuple[int, int]]:
    """Insert the rows whose (unit, datasetId) is not stored yet (``document`` as JSON text); the
    (unit_id, dataset_id) pairs inserted."""
    if not rows:
        return set()
    conn = await driver_connection(session)
    return {(r[0], r[1]) for r in await conn.fetch(INSERT_NEW, *_arrays(rows))}


async def lock_units(session: AsyncSession, unit_ids: Iterable[int]) -> None:
    """Lock the units' history until the transaction ends (in unit order: concurrent batches never wait on
    each other in a cycle). Taken before any partition is created: a creation holds the table's ACCESS
    EXCLUSIVE lock, and a batch waiting for it must not hold a unit lock the creator needs."""
    keys = [unit_lock_key(u) for u in sorted(set(unit_ids))]
    if keys:
        conn = await driver_connection(session)
        await conn.fetchval(LOCK_UNITS, keys)


def unit_lock_key(unit_id: int) -> int:
    """The advisory lock of a unit's history (a 63-bit key of its own namespace)."""
    return int.from_bytes(hashlib.sha256(f"{SCHEMA}.unit_data:{unit_id}".encode()).digest()[:8], "big") >> 1


async def raise_latest(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Make each row its unit's newest report unless the stored one has a higher datasetId (one row per unit)."""
    if rows:
        conn = await driver_connection(session)
        await conn.execute(RAISE_LATEST, *_arrays(rows))


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
