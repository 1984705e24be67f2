"""Rules of dispatch history."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.timeutil import delivery_day_of

from ..assets.lookup import asset_regions
from . import events, repository
from .schemas import DispatchCommand, DispatchEntry, DispatchListResponse, DispatchQuery


async def record_dispatch(session: AsyncSession, company_id: int, command: DispatchCommand) -> DispatchEntry | None:
    """Stores a dispatch command once per (company, event_id); None for a redelivery.

    The delivery day is the asset's region calendar day of delivery_period_start
    (Europe/Berlin for DE, Europe/Warsaw for PL). An unknown asset is refused (``ValidationFailed``:
    a dead letter from the consumer)."""
    regions = await asset_regions(session, company_id, [command.asset_id], lock=True)
    region = regions.get(command.asset_id)
    if region is None:
        raise ValidationFailed.at(
            ["asset_id"], f"unknown asset id {command.asset_id} in company {company_id}", command.asset_id
        )
    row = await repository.insert_dispatch(
        session,
        {
            "company_id": company_id,
            "event_id": command.event_id,
            "source": command.source,
            "published_at": command.published_at,
            "asset_id": command.asset_id,
            "dispatch_time": command.dispatch_time,
            "delivery_period_start": command.delivery_period_start,
            "delivery_day": delivery_day_of(command.delivery_period_start, region),
            "target_power": command.target_power.amount,
            "nominal_power": command.nominal_power.amount,
            "power_imbalance": command.power_imbalance.amount,
            "soc_imbalance": command.soc_imbalance.amount,
        },
    )
    if row is None:
        return None
    entry = DispatchEntry.from_row(row)
    await events.dispatch_recorded(session, company_id, entry)
    return entry


async def list_dispatches(
    session: AsyncSession,
    company_id: int,
    query: DispatchQuery,
    page: Page,
) -> DispatchListResponse:
    start, end, delivery_day = query.start, query.end, query.delivery_day
    if (start is None) != (end is None):
        name = "to" if end is None else "from"
        raise ValidationFailed([field_error(["query", name], "from and to go together: give both or neither", None)])
    if start is None and delivery_day is None:
        raise ValidationFailed(
            field_error(["query", name], f"{name} is required unless delivery_day is given", None)
            for name in ("from", "to")
        )
    if start is not None and end is not None and end <= start:
        raise ValidationFailed([field_error(["query", "to"], "to must be after from", end.isoformat())])
    rows = await repository.list_dispatches(session, company_id, query, page)
    return DispatchListResponse(
        dispatches=[DispatchEntry.from_row(r) for r in rows], limit=page.limit, offset=page.offset
    )
