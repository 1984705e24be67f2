"""Rules of the sites domain: sites, inverters, PoC limits and inverter limits."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.quantity import Power, Price

from ..assets.lookup import assets_by_id, missing_asset_ids
from ..assets.schemas import AssetResponse
from ..assets.service import check_area_in_region
from . import events, repository
from .schemas import (
    READ_WINDOW_INVERTER,
    READ_WINDOW_SITE,
    CreateSiteInverterRequest,
    CreateSiteRequest,
    DispatchMode,
    DispatchModeName,
    ExpandOption,
    PatchSiteInverterRequest,
    PatchSiteRequest,
    PutSiteLimitsBase,
    SiteInverterLimitsResponse,
    SiteInverterResponse,
    SiteLimitPeriod,
    SiteLimitsPage,
    SiteLimitsResponse,
    SiteLimitsWrittenResponse,
    SiteListResponse,
    SiteResponse,
    check_dispatch_mode,
    span,
)


def site_id_prefix(region: str, delivery_area: str, code: str) -> str:
    """``<REGION>_<AREA>_<CODE>_SITE``; the code upper-cased, other characters folded to '_'."""
    return f"{region}_{delivery_area}_{re.sub(r'[^A-Z0-9_]', '_', code.upper())}_SITE"


def _price(amount: Any) -> Price | None:
    return None if amount is None else Price(amount=amount, unit="EUR/MWh")


def _inverter(row: dict[str, Any], assets_by_id: dict[str, AssetResponse] | None = None) -> SiteInverterResponse:
    ids = list(row["asset_ids"] or [])
    return SiteInverterResponse(
        id=row["id"],
        site_id=row["site_id"],
        rated_power=Power(amount=row["rated_power"], unit="MW"),
        charge_efficiency=row["charge_efficiency"],
        discharge_efficiency=row["discharge_efficiency"],
        asset_ids=ids,
        assets=None if assets_by_id is None else [assets_by_id[i] for i in ids if i in assets_by_id],
    )


def _site(row: dict[str, Any], inverters: list[SiteInverterResponse]) -> SiteResponse:
    return SiteResponse(
        id=row["id"],
        name=row["name"],
        code=row["code"],
        region=row["region"],
        delivery_area=row["delivery_area"],
        dispatch_mode=DispatchMode.model_construct(
            name=DispatchModeName(row["dispatch_mode_name"]),
            floor_price=_price(row["dispatch_mode_floor_price"]),
            strike_price=_price(row["dispatch_mode_strike_price"]),
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        inverters=inverters,
    )


async def _assets_by_id(session: AsyncSession, company_id: int, ids: set[str]) -> dict[str, AssetResponse]:
    rows = await assets_by_id(session, company_id, ids)
    return {asset_id: AssetResponse.from_row(row) for asset_id, row in rows.items()}


async def _assemble(
    session: AsyncSession, company_id: int, site_rows: list[dict[str, Any]], *, expand_assets: bool = False
) -> list[SiteResponse]:
    inv_rows = await repository.inverters_of_sites(session, company_id, [r["id"] for r in site_rows])
    by_id = None
    if expand_assets:
        by_id = await _assets_by_id(session, company_id, {a for r in inv_rows for a in (r["asset_ids"] or [])})
    per_site: dict[str, list[SiteInverterResponse]] = {r["id"]: [] for r in site_rows}
    for r in inv_rows:
        per_site[r["site_id"]].append(_inverter(r, by_id))
    return [_site(r, per_site[r["id"]]) for r in site_rows]


async def _site_row(
    session: AsyncSession, company_id: int, site_id: str, *, lock: bool = False, key_share: bool = False
) -> dict[str, Any]:
    row = await repository.get_site(session, company_id, site_id, lock=lock, key_share=key_share)
    if row is None:
        raise NotFound(f"Site {site_id} not found")
    return row


# --- sites ---------------------------------------------------------------------------------------


def parse_expand(expand: str | None) -> set[ExpandOption]:
    """``expand`` is a comma-separated list of ExpandOption values; anything else is a 422."""
    options: set[ExpandOption] = set()
    for part in (expand or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            options.add(ExpandOption(part))
        except ValueError:
            allowed = ", ".join(o.value for o in ExpandOption)
            raise ValidationFailed(
                [field_error(["query", "expand"], f"unknown expand value {part!r}; allowed: {allowed}", expand)]
            ) from None
    return options


async def create_site(session: AsyncSession, company_id: int, body: CreateSiteRequest) -> SiteResponse:
    check_area_in_region(body.region, body.delivery_area)
    prefix = site_id_prefix(body.region.value, body.delivery_area.value, body.code)
    seq = await repository.next_sequence(session, company_id, prefix)
    mode = body.dispatch_mode
    row = await repository.insert_site(
        session,
        {
            "company_id": company_id,
            "id": f"{prefix}_{seq}",
            "name": body.name,
            "code": body.code,
            "region": body.region.value,
            "delivery_area": body.delivery_area.value,
            "dispatch_mode_name": mode.name.value,
            "dispatch_mode_floor_price": None if mode.floor_price is None else mode.floor_price.amount,
            "dispatch_mode_strike_price": None if mode.strike_price is None else mode.strike_price.amount,
        },
    )
    site = _site(row, [])
    await events.publish(session, company_id, site.id, events.SITE_CREATED, events.SiteEventV1.of(site))
    return site


async def get_site(session: AsyncSession, company_id: int, site_id: str) -> SiteResponse:
    row = await _site_row(session, company_id, site_id)
    return (await _assemble(session, company_id, [row]))[0]


async def list_sites(
    session: AsyncSession,
    company_id: int,
    *,
    region: str | None,
    delivery_area: str | None,
    asset_id: str | None,
    expand: str | None,
    page: Page,
) -> SiteListResponse:
    options = parse_expand(expand)
    rows = await repository.list_sites(
        session,
        company_id,
        region=region,
        delivery_area=delivery_area,
        asset_id=asset_id,
        limit=page.limit,
        offset=page.offset,
    )
    site_list = await _assemble(session, company_id, rows, expand_assets=ExpandOption.ASSETS in options)
    return SiteListResponse(limit=page.limit, offset=page.offset, sites=site_list)


async def patch_site(session: AsyncSession, company_id: int, site_id: str, body: PatchSiteRequest) -> SiteResponse:
    row = await _site_row(session, company_id, site_id, lock=True)
    values: dict[str, Any] = {}
    if body.name is not None:
        values["name"] = body.name
    name = body.dispatch_mode_name or DispatchModeName(row["dispatch_mode_name"])
    floor = body.dispatch_mode_floor_price
    strike = body.dispatch_mode_strike_price
    if name is DispatchModeName.PRICE_BASED:
        floor = floor or _price(row["dispatch_mode_floor_price"])
        strike = strike or _price(row["dispatch_mode_strike_price"])
    try:
        check_dispatch_mode(name, floor, strike)
    except ValueError as exc:
        raise ValidationFailed([field_error(["body"], str(exc))]) from None
    values.update(
        dispatch_mode_name=name.value,
        dispatch_mode_floor_price=None if floor is None else floor.amount,
        dispatch_mode_strike_price=None if strike is None else strike.amount,
    )
    updated = await repository.update_site(session, company_id, site_id, values)
    site = (await _assemble(session, company_id, [updated]))[0]
    await events.publish(session, company_id, site_id, events.SITE_UPDATED, events.SiteEventV1.of(site))
    return site


async def delete_site(session: AsyncSession, company_id: int, site_id: str) -> None:
    if not await repository.delete_site(session, company_id, site_id):
        raise NotFound(f"Site {site_id} not found")
    await events.publish(session, company_id, site_id, events.SITE_DELETED, {"id": site_id})


# --- inverters -----------------------------------------------------------------------------------


async def _check_assets(session: AsyncSession, company_id: int, asset_ids: list[str]) -> None:
    missing = set(await missing_asset_ids(session, company_id, asset_ids, lock=True))
    if missing:
        raise ValidationFailed(
            field_error(["body", "asset_ids", i], f"asset {a} does not exist in this company", a)
            for i, a in enumerate(asset_ids)
            if a in missing
        )


async def _inverter_response(
    session: AsyncSession, company_id: int, site_id: str, inverter_id: str
) -> SiteInverterResponse:
    row = await repository.get_inverter(session, company_id, site_id, inverter_id)
    if row is None:
        raise NotFound(f"Inverter {inverter_id} not found on site {site_id}")
    return _inverter(row)


async def create_inverter(
    session: AsyncSession, company_id: int, site_id: str, body: CreateSiteInverterRequest
) -> SiteInverterResponse:
    await _site_row(session, company_id, site_id, lock=True)
    await _check_assets(session, company_id, body.asset_ids)
    seq = await repository.next_sequence(session, company_id, f"{site_id}_INV")
    inverter_id = f"{site_id}_INV_{seq}"
    await repository.insert_inverter(
        session,
        {
            "company_id": company_id,
            "id": inverter_id,
            "site_id": site_id,
            "rated_power": body.rated_power.amount,
            "charge_efficiency": body.charge_efficiency,
            "discharge_efficiency": body.discharge_efficiency,
        },
    )
    await repository.replace_inverter_assets(session, company_id, inverter_id, body.asset_ids)
    out = await _inverter_response(session, company_id, site_id, inverter_id)
    await events.publish(session, company_id, site_id, events.INVERTER_ADDED, events.SiteInverterV1.of(out))
    return out


async def get_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> SiteInverterResponse:
    await _site_row(session, company_id, site_id)
    return await _inverter_response(session, company_id, site_id, inverter_id)


async def list_inverters(session: AsyncSession, company_id: int, site_id: str) -> list[SiteInverterResponse]:
    return (await get_site(session, company_id, site_id)).inverters


async def patch_inverter(
    session: AsyncSession, company_id: int, site_id: str, inverter_id: str, body: PatchSiteInverterRequest
) -> SiteInverterResponse:
    await _site_row(session, company_id, site_id)
    if not await repository.lock_inverter(session, company_id, site_id, inverter_id):
        raise NotFound(f"Inverter {inverter_id} not found on site {site_id}")
    if body.asset_ids is not None:
        await _check_assets(session, company_id, body.asset_ids)
    values: dict[str, Any] = {}
    if body.rated_power is not None:
        values["rated_power"] = body.rated_power.amount
    if body.charge_efficiency is not None:
        values["charge_efficiency"] = body.charge_efficiency
    if body.discharge_efficiency is not None:
        values["discharge_efficiency"] = body.discharge_efficiency
    await repository.update_inverter(session, company_id, inverter_id, values)
    if body.asset_ids is not None:
        await repository.replace_inverter_assets(session, company_id, inverter_id, body.asset_ids)
    out = await _inverter_response(session, company_id, site_id, inverter_id)
    await events.publish(session, company_id, site_id, events.INVERTER_UPDATED, events.SiteInverterV1.of(out))
    return out


async def delete_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> None:
    await _site_row(session, company_id, site_id)
    if not await repository.delete_inverter(session, company_id, site_id, inverter_id):
        raise NotFound(f"Inverter {inverter_id} not found on site {site_id}")
    await events.publish(session, company_id, site_id, events.INVERTER_REMOVED, {"id": inverter_id, "site_id": site_id})


# --- limits --------------------------------------------------------------------------------------


def _check_window(from_: datetime, to: datetime, cap: timedelta) -> None:
    if to <= from_:
        raise ValidationFailed([field_error(["query", "to"], "to must be after from", to.isoformat())])
    if to - from_ > cap:
        raise ValidationFailed(
            [field_error(["query", "to"], f"the from..to window is capped at {cap.days} days", to.isoformat())]
        )


def _limits_page(rows: list[dict[str, Any]], page: Page, cls: type[SiteLimitsPage]) -> SiteLimitsPage:
    return cls(
        limit=page.limit,
        offset=page.offset,
        limits=[
            SiteLimitPeriod(
                start_time=r["start_time"],
                end_time=r["end_time"],
                max_import_from_grid=None
                if r["max_import_from_grid"] is None
                else Power(amount=r["max_import_from_grid"], unit="MW"),
                max_export_to_grid=None
                if r["max_export_to_grid"] is None
                else Power(amount=r["max_export_to_grid"], unit="MW"),
            )
            for r in rows
        ],
    )


def _written(body: PutSiteLimitsBase) -> SiteLimitsWrittenResponse:
    start, end = span(body.limits)
    return SiteLimitsWrittenResponse(rows=sum(p.quarter_hours for p in body.limits), start_time=start, end_time=end)


# Events carry the submitted periods when there are few; a large batch (a year of quarter hours)
# is announced by its span and row count only, to stay far below Kafka's message size limit.
MAX_EVENT_PERIODS = 100


def _limits_event(body: PutSiteLimitsBase, written: SiteLimitsWrittenResponse, **ids: str) -> dict[str, Any]:
    data: dict[str, Any] = {**ids, **written.model_dump(mode="json")}
    if len(body.limits) <= MAX_EVENT_PERIODS:
        data["periods"] = [p.model_dump(mode="json") for p in body.limits]
    return data


async def put_site_limits(
    session: AsyncSession, company_id: int, site_id: str, body: PutSiteLimitsBase
) -> SiteLimitsWrittenResponse:
    await _site_row(session, company_id, site_id, key_share=True)  # a concurrent delete: 404, never a 500
    await repository.upsert_limits(session, "site", company_id, site_id, body.limits)
    written = _written(body)
    await events.publish(
        session, company_id, site_id, events.POC_LIMITS_UPSERTED, _limits_event(body, written, site_id=site_id)
    )
    return written


async def get_site_limits(
    session: AsyncSession, company_id: int, site_id: str, from_: datetime, to: datetime, page: Page
) -> SiteLimitsPage:
    _check_window(from_, to, READ_WINDOW_SITE)
    await _site_row(session, company_id, site_id)
    rows = await repository.list_limits(session, "site", company_id, site_id, from_, to, page.limit, page.offset)
    return _limits_page(rows, page, SiteLimitsResponse)


async def _inverter_exists(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> None:
    await _site_row(session, company_id, site_id)
    if await repository.get_inverter(session, company_id, site_id, inverter_id) is None:
        raise NotFound(f"Inverter {inverter_id} not found on site {site_id}")


async def put_inverter_limits(
    session: AsyncSession, company_id: int, site_id: str, inverter_id: str, body: PutSiteLimitsBase
) -> SiteLimitsWrittenResponse:
    await _site_row(session, company_id, site_id)
    if not await repository.key_share_inverter(session, company_id, site_id, inverter_id):
        raise NotFound(f"Inverter {inverter_id} not found on site {site_id}")
    await repository.upsert_limits(session, "inverter", company_id, inverter_id, body.limits)
    written = _written(body)
    await events.publish(
        session,
        company_id,
        site_id,
        events.INVERTER_LIMITS_UPSERTED,
        _limits_event(body, written, site_id=site_id, inverter_id=inverter_id),
    )
    return written


async def get_inverter_limits(
    session: AsyncSession, company_id: int, site_id: str, inverter_id: str, from_: datetime, to: datetime, page: Page
) -> SiteLimitsPage:
    _check_window(from_, to, READ_WINDOW_INVERTER)
    await _inverter_exists(session, company_id, site_id, inverter_id)
    rows = await repository.list_limits(
        session, "inverter", company_id, inverter_id, from_, to, page.limit, page.offset
    )
    return _limits_page(rows, page, SiteInverterLimitsResponse)
