"""SQL of the period-limits domain. Every statement is scoped by company and set-based."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Each entry is one unnest() row: its first window starts at first_start, lasts n_quarters
# quarter hours, and repeats n_days times every 24 hours (24 hours, not '1 day': a UTC
# window does not move with the session's time zone). delivery_day comes from the asset's
# region calendar. Partial upsert: COALESCE keeps the stored value where the entry is null.
# Rows are written in key order, so concurrent writers lock them in the same order (no deadlock).
_UPSERT = text(
    """
    INSERT INTO asset.period_limits AS t (
        company_id, asset_id, start_time, source, end_time, delivery_day,
        power_charge, power_discharge, energy_low, energy_high, trading_locked, created_at, updated_at)
    SELECT :company_id, e.asset_id, q.start_time, e.source, q.start_time + interval '15 minutes',
           (q.start_time AT TIME ZONE e.tz)::date,
           e.power_charge, e.power_discharge, e.energy_low, e.energy_high, e.trading_locked, now(), now()
    FROM unnest(
        CAST(:asset_ids AS text[]), CAST(:sources AS text[]), CAST(:tzs AS text[]),
        CAST(:first_starts AS timestamptz[]), CAST(:n_days AS int[]), CAST(:n_quarters AS int[]),
        CAST(:power_charge AS numeric[]), CAST(:power_discharge AS numeric[]),
        CAST(:energy_low AS numeric[]), CAST(:energy_high AS numeric[]), CAST(:trading_locked AS boolean[])
    ) AS e(asset_id, source, tz, first_start, n_days, n_quarters,
           power_charge, power_discharge, energy_low, energy_high, trading_locked)
    CROSS JOIN LATERAL generate_series(0, e.n_days - 1) AS d(i)
    CROSS JOIN LATERAL generate_series(0, e.n_quarters - 1) AS k(j)
    CROSS JOIN LATERAL (
        SELECT e.first_start + d.i * interval '24 hours' + k.j * interval '15 minutes' AS start_time
    ) AS q
    ORDER BY e.asset_id, q.start_time, e.source
    ON CONFLICT (company_id, asset_id, start_time, source) DO UPDATE SET
        power_charge = COALESCE(EXCLUDED.power_charge, t.power_charge),
        power_discharge = COALESCE(EXCLUDED.power_discharge, t.power_discharge),
        energy_low = COALESCE(EXCLUDED.energy_low, t.energy_low),
        energy_high = COALESCE(EXCLUDED.energy_high, t.energy_high),
        trading_locked = COALESCE(EXCLUDED.trading_locked, t.trading_locked),
        end_time = EXCLUDED.end_time,
        delivery_day = EXCLUDED.delivery_day,
        updated_at = EXCLUDED.updated_at
    """
)


async def _custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's statements for their actual parameters.

    asyncpg keeps prepared statements per connection, and after five executions PostgreSQL may
    switch one to a generic plan. One made while the table was still small (a nested loop over
    a sequential scan) stays cached until the next ANALYZE, and on a grown table it turns a
    20 ms page into a 30 s timeout (seen in bench/asset_limits.py). The page and clear queries
    depend on their parameters (how many asset ids, the window, LIMIT/OFFSET): plan them each time.
    """
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def upsert_expanded(session: AsyncSession, company_id: int, columns: dict[str, Sequence[Any]]) -> None:
    """One INSERT ... SELECT over every entry of the batch (``columns``: the unnest arrays)."""
    await session.execute(_UPSERT, {"company_id": company_id, **columns})


# The rows of a source in the window lose their four constraint columns; rows that would be
# left empty (trading_locked not TRUE) are removed instead. Disjoint row sets, one statement.
_CLEAR = text(
    """
    WITH removed AS (
        DELETE FROM asset.period_limits
        WHERE company_id = :company_id AND asset_id = :asset_id AND source = :source
          AND start_time >= :start_time AND start_time < :end_time AND trading_locked IS NOT TRUE
        RETURNING 1
    ), cleared AS (
        UPDATE asset.period_limits
        SET power_charge = NULL, power_discharge = NULL, energy_low = NULL, energy_high = NULL, updated_at = now()
        WHERE company_id = :company_id AND asset_id = :asset_id AND source = :source
          AND start_time >= :start_time AND start_time < :end_time AND trading_locked IS TRUE
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM cleared) AS cleared, (SELECT count(*) FROM removed) AS removed
    """
)


async def clear_source(
    session: AsyncSession, company_id: int, asset_id: str, source: str, start_time: datetime, end_time: datetime
) -> tuple[int, int]:
    await _custom_plans(session)
    row = (
        await session.execute(
            _CLEAR,
            {
                "company_id": company_id,
                "asset_id": asset_id,
                "source": source,
                "start_time": start_time,
                "end_time": end_time,
            },
        )
    ).one()
    return int(row.cleared), int(row.removed)


def _amount(expr: str, unit: str) -> str:
    """A quantity object, or JSON null: the decimal as text without trailing zeros (trim_scale)."""
    return (
        f"CASE WHEN ({expr}) IS NULL THEN NULL "
        f"ELSE json_build_object('amount', trim_scale({expr})::text, 'unit', '{unit}') END"
    )


def _instant(expr: str) -> str:
    """ISO 8601 UTC with Z; six fractional digits only when there are any (as pydantic writes them)."""
    return (
        f"to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN date_part('microseconds', {expr})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char(({expr}) AT TIME ZONE 'UTC', '.US') END || 'Z'"
    )


# One page of (asset_id, start_time) groups, then every (filtered) source row of those groups,
# aggregated per group into the response's JSON by PostgreSQL (a page holds up to 1000 periods
# x 5 sources x 4 amounts: building that as Python objects costs several times more, and the
# garbage collector's pauses with it). Shapes: schemas.LimitsPage. computed_limits is the seed's
# most-restrictive rule over the group's rows: power_charge max, power_discharge min,
# energy_low max, energy_high min (aggregates skip nulls: null only when no source gives a
# value), trading_locked true if any source locks (false otherwise).
_PAGE = f"""
    WITH page AS (
        SELECT asset_id, start_time
        FROM asset.period_limits
        WHERE company_id = :company_id AND asset_id = ANY(CAST(:asset_ids AS text[]))
          AND start_time >= :from_ AND start_time < :to {{source_filter}}
        GROUP BY asset_id, start_time
        ORDER BY asset_id, start_time
        LIMIT :limit OFFSET :offset
    ), periods AS (
        SELECT p.asset_id, p.start_time, json_build_object(
            'asset_id', p.asset_id,
            'start_time', {_instant("p.start_time")},
            'end_time', {_instant("max(p.end_time)")},
            'delivery_day', max(p.delivery_day),
            'computed_limits', json_build_object(
                'power_charge', {_amount("max(p.power_charge)", "MW")},
                'power_discharge', {_amount("min(p.power_discharge)", "MW")},
                'energy_low', {_amount("max(p.energy_low)", "MWh")},
                'energy_high', {_amount("min(p.energy_high)", "MWh")},
                'trading_locked', coalesce(bool_or(p.trading_locked), false)
            ),
            'sources', json_agg(json_build_object(
                'source', p.source,
                'power_charge', {_amount("p.power_charge", "MW")},
                'power_discharge', {_amount("p.power_discharge", "MW")},
                'energy_low', {_amount("p.energy_low", "MWh")},
                'energy_high', {_amount("p.energy_high", "MWh")},
                'trading_locked', p.trading_locked,
                'created_at', {_instant("p.created_at")},
                'updated_at', {_instant("p.updated_at")}
            ) ORDER BY p.source)
        ) AS period
        FROM page
        JOIN asset.period_limits AS p
          ON p.company_id = :company_id AND p.asset_id = page.asset_id AND p.start_time = page.start_time
        {{join_filter}}
        GROUP BY p.asset_id, p.start_time
    )
    SELECT json_build_object(
        'limit', CAST(:limit AS int), 'offset', CAST(:offset AS int),
        'limits', coalesce(json_agg(period ORDER BY asset_id, start_time), '[]'::json)
    )::text
    FROM periods
"""
_PAGE_ALL = text(_PAGE.format(source_filter="", join_filter=""))
_PAGE_FILTERED = text(
    _PAGE.format(
        source_filter="AND source = ANY(CAST(:sources AS text[]))",
        join_filter="WHERE p.source = ANY(CAST(:sources AS text[]))",
    )
)


async def page_json(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    from_: datetime,
    to: datetime,
    sources: list[str] | None,
    limit: int,
    offset: int,
) -> str:
    """One page of GET /api/limits, as the JSON text of a LimitsPage."""
    params: dict[str, Any] = {
        "company_id": company_id,
        "asset_ids": asset_ids,
        "from_": from_,
        "to": to,
        "limit": limit,
        "offset": offset,
    }
    if sources is None:
        stmt = _PAGE_ALL
    else:
        stmt = _PAGE_FILTERED
        params["sources"] = sources
    await _custom_plans(session)
    return str((await session.execute(stmt, params)).scalar_one())
