"""Rules of deals: ingestion (newest report wins, codes checked against the registry) and the
staff and resident views (live, list, datetimeRange, hourly sums; resident masking; budo format)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import RegistryLookup
from gridcommons.datetime_window import Window
from gridcommons.errors import ValidationFailed, field_error

from . import events, repository
from .repository import DealScope
from .schemas import (
    DEAL_KEYS,
    LIFECYCLE,
    MASK,
    RESIDENT_KEYS,
    Deal,
    FormatType,
    IngestDealsResponse,
    Zone,
)

Loc = tuple[str | int, ...]  # where a batch's reports sit (the start of their error locations)


# ----------------------------------------------------------------------------- ingestion
def _order_key(deal: Deal) -> tuple[int, int, float]:
    """The repository's order of reports (newer, then further, then more energy), in Python."""
    fields = deal.__dict__
    progress = sum(fields[name] is not None for name in LIFECYCLE)
    return deal.report_time, progress, -1.0 if deal.cumulate_amount_wh is None else deal.cumulate_amount_wh


def _newer(deal: Deal, held: Deal) -> bool:
    """Whether ``deal`` wins over ``held`` (the later of equal reports wins)."""
    if deal.report_time != held.report_time:  # the common case, decided without the whole key
        return deal.report_time > held.report_time
    return _order_key(deal) >= _order_key(held)


def _row(company_id: int, deal: Deal) -> dict[str, Any]:
    """The deal's row, JSON-ready (instants in ISO 8601, the amount as the text of the float as written:
    its shortest round-trip text, kept exactly as NUMERIC)."""
    amount = deal.cumulate_amount_wh
    deactivated = deal.deactivate_date_time
    return {
        "company_id": company_id,
        "deal_id": deal.deal_id,
        "community_code": deal.community_id,
        "cluster_code": deal.cluster_id,
        "unit_id": deal.unit_id,
        "request_unit_id": deal.request_unit_id,
        "accept_unit_id": deal.accept_unit_id,
        "charge_unit_id": deal.charge_unit_id,
        "discharge_unit_id": deal.discharge_unit_id,
        "create_date_time": deal.create_date_time.isoformat(),
        "deactivate_date_time": None if deactivated is None else deactivated.isoformat(),
        "report_time": deal.report_time,
        "progress": _order_key(deal)[1],
        "cumulate_amount_wh": None if amount is None else repr(amount),
        "report": deal.model_dump(mode="json", exclude_none=True),
    }


class NewestReports:
    """The reports of a batch folded as they come: the newest of each deal kept, the communityId/clusterId
    codes checked against the registry once per cluster (every offending report remembered), so a
    batch of many messages holds one report per deal, not every report."""

    def __init__(self, lookup: RegistryLookup):
        self.lookup = lookup
        self.newest: dict[tuple[int, str], Deal] = {}
        self.known: dict[tuple[int, str, str], bool] = {}
        self.bad: list[dict[str, Any]] = []

    async def add(self, session: AsyncSession, company_id: int, deals: Sequence[Deal], where: Loc) -> None:
        """The reports of one message or request; ``where`` locates them (``[*where, i, "clusterId"]``)."""
        newest, known = self.newest, self.known
        for i, deal in enumerate(deals):
            cluster = (company_id, deal.community_id, deal.cluster_id)
            ok = known.get(cluster)
            if ok is None:
                ok = known[cluster] = await self.lookup.cluster(session, *cluster) is not None
            if not ok:
                self.bad.append(
                    field_error(
                        [*where, i, "clusterId"],
                        f"unknown communityId/clusterId {deal.community_id}/{deal.cluster_id}",
                        f"{deal.community_id}/{deal.cluster_id}",
                    )
                )
                continue
            key = (company_id, deal.deal_id)
            held = newest.get(key)
            if held is None or _newer(deal, held):
                newest[key] = deal

    async def record(self, session: AsyncSession) -> int:
        """All or nothing: a report with unknown codes refuses the batch (a 422 naming each); else one
        upsert of the newest report of each deal and one event per deal created or moved forward.
        Returns that number of deals."""
        if self.bad:
            raise ValidationFailed(self.bad)
        # in key order: concurrent batches lock the deals they share in one order (no deadlock between them)
        rows = {key: _row(key[0], deal) for key, deal in sorted(self.newest.items())}
        changed = await repository.upsert_deals(session, list(rows.values()))
        by_company: dict[int, list[dict[str, Any]]] = {}
        for key in changed:
            by_company.setdefault(key[0], []).append(rows[key])
        for company_id, published in by_company.items():
            published.sort(key=lambda row: (row["create_date_time"], row["deal_id"]))
            await events.deals_reported(session, company_id, published)
        return len(changed)


async def ingest(
    session: AsyncSession, lookup: RegistryLookup, company_id: int, deals: Sequence[Deal]
) -> IngestDealsResponse:
    """The HTTP door's batch (errors located at ``body.deals[i]``)."""
    batch = NewestReports(lookup)
    await batch.add(session, company_id, deals, ("body", "deals"))
    return IngestDealsResponse(received=len(deals), changed=await batch.record(session))


# ----------------------------------------------------------------------------- answers
def staff_format(report: dict[str, Any]) -> dict[str, Any]:
    """The stored report in the reports' key order (JSONB keeps its own order)."""
    return {k: report[k] for k in DEAL_KEYS if k in report}


def resident_format(report: dict[str, Any], unit_code: str) -> dict[str, Any]:
    """The whitelist, in its order; other units' codes masked. Unlike the original, zero and false
    values are kept (only absent fields are left out)."""
    out = {}
    for key in RESIDENT_KEYS:
        if key in report:
            value = report[key]
            if key.lower().endswith("unitid") and value != unit_code:
                value = MASK
            out[key] = value
    return out


def budo_format(deal: dict[str, Any]) -> dict[str, Any]:
    """The short form (after masking for residents): every key present, null when not reported."""
    return {
        "id": deal.get("dealId"),
        "dischargingUnit": deal.get("dischargeUnitId"),
        "chargingUnit": deal.get("chargeUnitId"),
        "isMasterDeal": bool(deal.get("isMaster", False)),
        "request": deal.get("type"),
        "requester": deal.get("requestUnitId"),
        "responder": deal.get("acceptUnitId"),
        "startTime": deal.get("createDateTime"),
    }


@dataclass(frozen=True)
class ListPage:
    """``limit``/``offset`` of a list (None: everything up to ``cap``)."""

    limit: int | None
    offset: int
    cap: int


@dataclass(frozen=True)
class DealList:
    items: list[dict[str, Any]]
    truncated: bool  # more deals matched than the cap: the answer was cut


async def deals(
    session: AsyncSession,
    scope: DealScope,
    page: ListPage,
    fmt: FormatType | None,
    *,
    window: Window | None = None,
    live_window_seconds: int | None = None,
) -> DealList:
    """The deals of a cluster (a resident: those their unit takes part in), sorted by createDateTime;
    ``live_window_seconds``: only live deals (not deactivated, reported within that many seconds)."""
    size = page.cap if page.limit is None else min(page.limit, page.cap)
    live_since = None if live_window_seconds is None else int(time.time()) - live_window_seconds
    rows = await repository.reports(
        session, scope, window=window, live_since=live_since, limit=size + 1, offset=page.offset
    )
    truncated = len(rows) > size and (page.limit is None or page.limit > page.cap)
    rows = rows[:size]
    unit = scope.unit_code
    items = [staff_format(r) if unit is None else resident_format(r, unit) for r in rows]
    if fmt == FormatType.budo:
        items = [budo_format(d) for d in items]
    return DealList(items, truncated)


async def datetime_range(session: AsyncSession, scope: DealScope) -> dict[str, Any]:
    low, high = await repository.created_range(session, scope)
    return {} if low is None or high is None else {"min": low, "max": high}


async def hourly_sums(session: AsyncSession, scope: DealScope, zone: Zone, window: Window) -> dict[str, float]:
    """{hour of day (0..23, as text) of createDateTime in ``zone``: sum of cumulateAmountWh}, only the
    hours that have deals, in hour order."""
    return {str(hour): float(total) for hour, total in await repository.hourly_sums(session, scope, zone, window)}
