"""Rules of the period-limits domain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.quantity import Energy, Power
from gridcommons.timeutil import region_tz

from ..assets.lookup import asset_regions_or_404
from . import events, repository
from .schemas import (
    AssetLimitsWritten,
    DeleteLimitsQuery,
    DeleteLimitsResponse,
    LimitsQuery,
    PatchLimitsRequest,
)

CONSTRAINTS = ("power_charge", "power_discharge", "energy_low", "energy_high")


def _amount(q: Power | Energy | None) -> Decimal | None:
    return None if q is None else q.amount


async def patch_limits(session: AsyncSession, company_id: int, body: PatchLimitsRequest) -> list[AssetLimitsWritten]:
    """Expand every entry into 15-minute rows and upsert them partially, all in one statement."""
    regions = await asset_regions_or_404(session, company_id, (e.asset_id for e in body.limits), lock=True)
    entries = body.limits
    await repository.upsert_expanded(
        session,
        company_id,
        {
            "asset_ids": [e.asset_id for e in entries],
            "sources": [e.source.value for e in entries],
            "tzs": [region_tz(regions[e.asset_id]).key for e in entries],
            "first_starts": [e.first_start() for e in entries],
            "n_days": [e.days() for e in entries],
            "n_quarters": [e.quarters_per_window() for e in entries],
            **{f: [_amount(getattr(e, f)) for e in entries] for f in CONSTRAINTS},
            "trading_locked": [e.trading_locked for e in entries],
        },
    )
    summaries: dict[str, dict[str, Any]] = {}
    for e in entries:
        first, last_end = e.first_start(), e.last_end()
        s = summaries.setdefault(
            e.asset_id,
            {
                "asset_id": e.asset_id,
                "sources": set(),
                "start_time": first,
                "end_time": last_end,
                "rows": 0,
                "entries": 0,
            },
        )
        s["sources"].add(e.source)
        s["start_time"] = min(s["start_time"], first)
        s["end_time"] = max(s["end_time"], last_end)
        s["rows"] += e.row_count()
        s["entries"] += 1
    written = [AssetLimitsWritten(**{**s, "sources": sorted(s["sources"])}) for _, s in sorted(summaries.items())]
    await events.limits_updated(session, company_id, written)
    return written


async def clear_limits(session: AsyncSession, company_id: int, query: DeleteLimitsQuery) -> DeleteLimitsResponse:
    await asset_regions_or_404(session, company_id, [query.asset_id])
    cleared, removed = await repository.clear_source(
        session, company_id, query.asset_id, query.source.value, query.start_time, query.end_time
    )
    result = DeleteLimitsResponse(
        asset_id=query.asset_id,
        source=query.source,
        start_time=query.start_time,
        end_time=query.end_time,
        cleared=cleared,
        removed=removed,
    )
    await events.limits_cleared(session, company_id, result)
    return result


async def read_limits(session: AsyncSession, company_id: int, query: LimitsQuery) -> str:
    """One page of periods, ordered by asset_id then start_time (sources by name), as LimitsPage JSON.

    The page, the grouping and the computed most-restrictive limits are built by PostgreSQL
    (repository._PAGE); the filter on sources applies to the computed limits too.
    """
    return await repository.page_json(
        session,
        company_id,
        query.asset_ids,
        query.from_,
        query.to,
        None if query.sources is None else sorted({s.value for s in query.sources}),
        query.limit,
        query.offset,
    )
