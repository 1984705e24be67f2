"""Wire shapes of seed 002 (sites, inverters, PoC limits, inverter limits)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, NonNegativePower, Power, Price
from gridcommons.timeutil import QUARTER_HOUR, is_quarter_aligned
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..assets.schemas import AssetResponse, DeliveryArea, Region
from ..validation import ASSET_ID_MAX, Efficiency

IMMUTABLE_SITE_FIELDS = ("code", "region", "delivery_area")
# One request may expand into at most this many quarter-hour rows (a leap year has 35,136).
MAX_LIMIT_ROWS = 40_000
# Request body limit of the limit upserts: MAX_LIMIT_ROWS periods at their largest (both powers with
# 38-digit amounts, microsecond instants with offsets) are ~10.4 MiB of compact JSON.
LIMITS_BODY_LIMIT = 16 * 1024 * 1024


class DispatchModeName(StrEnum):
    """How the site's flexibility is dispatched (the seed shows PRICE_BASED; the rest completes the set)."""

    OPTIMISATION = "OPTIMISATION"  # the optimisation service decides every period (default)
    PRICE_BASED = "PRICE_BASED"  # charge below floor_price, discharge above strike_price (EUR/MWh)
    SELF_CONSUMPTION = "SELF_CONSUMPTION"  # maximise on-site use of local generation
    PEAK_SHAVING = "PEAK_SHAVING"  # keep the PoC import under its limit
    MANUAL = "MANUAL"  # operators schedule set-points by hand
    DISABLED = "DISABLED"  # no dispatch at all


class ExpandOption(StrEnum):
    ASSETS = "assets"  # embed each inverter's asset master records


def _check_efficiency(name: str, value: Decimal | None) -> None:
    if value is not None and not (0 < value <= 1):
        raise ValueError(f"{name} must be in (0, 1]")


def _check_non_negative(name: str, q: Power | Price | None, *, strictly: bool = False) -> None:
    if q is None:
        return
    if q.amount < 0 or (strictly and q.amount == 0):
        raise ValueError(f"{name} must be {'positive' if strictly else 'non-negative'}")


class DispatchMode(WireModel):
    """Dispatch mode configuration for a site. PRICE_BASED needs both prices; other modes take none."""

    name: DispatchModeName
    floor_price: Price | None = None
    strike_price: Price | None = None

    @model_validator(mode="after")
    def _check(self) -> DispatchMode:
        check_dispatch_mode(self.name, self.floor_price, self.strike_price)
        return self


def check_dispatch_mode(name: DispatchModeName, floor: Price | None, strike: Price | None) -> None:
    if name is DispatchModeName.PRICE_BASED:
        if floor is None or strike is None:
            raise ValueError("dispatch mode PRICE_BASED requires floor_price and strike_price")
        if floor.amount > strike.amount:
            raise ValueError("floor_price must not exceed strike_price")
    elif floor is not None or strike is not None:
        raise ValueError(f"dispatch mode {name.value} takes no floor_price / strike_price")


class CreateSiteRequest(WireModel):
    name: str = Field(min_length=1, max_length=255)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    region: Region
    delivery_area: DeliveryArea
    dispatch_mode: DispatchMode


class PatchSiteRequest(WireModel):
    """Only provided (non-null) fields are applied; code, region and delivery_area form the id and
    are immutable. Switching away from PRICE_BASED clears the prices."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    dispatch_mode_name: DispatchModeName | None = None
    dispatch_mode_floor_price: Price | None = None
    dispatch_mode_strike_price: Price | None = None

    @model_validator(mode="before")
    @classmethod
    def _immutable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            bad = [f for f in IMMUTABLE_SITE_FIELDS if f in data]
            if bad:
                raise ValueError(f"{', '.join(bad)} form the site id and cannot be changed")
        return data


class SiteInverterResponse(WireModel):
    id: str
    site_id: str
    rated_power: Power
    charge_efficiency: DecimalAmount
    discharge_efficiency: DecimalAmount
    asset_ids: list[str]
    assets: list[AssetResponse] | None = Field(
        default=None, description="The asset master records of asset_ids; only with expand=assets."
    )


class SiteResponse(WireModel):
    id: str
    name: str
    code: str
    region: Region
    delivery_area: DeliveryArea
    dispatch_mode: DispatchMode
    created_at: datetime
    updated_at: datetime
    inverters: list[SiteInverterResponse]


class SiteListResponse(WireModel):
    limit: int
    offset: int
    sites: list[SiteResponse]


AssetIdList = list[str]
# What _check_asset_ids enforces, in the schema: distinct ids of 1..128 characters.
ASSET_IDS_SCHEMA: dict[str, Any] = {
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": ASSET_ID_MAX},
}


def _check_asset_ids(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate asset ids: {', '.join(dupes)}")
    for i in ids:
        if not (1 <= len(i) <= 128):
            raise ValueError("an asset id has 1 to 128 characters")


class CreateSiteInverterRequest(WireModel):
    rated_power: NonNegativePower = Field(description="MW, > 0.")
    charge_efficiency: Efficiency
    discharge_efficiency: Efficiency
    asset_ids: list[str] = Field(min_length=1, max_length=100, json_schema_extra=ASSET_IDS_SCHEMA)

    @model_validator(mode="after")
    def _check(self) -> CreateSiteInverterRequest:
        _check_non_negative("rated_power", self.rated_power, strictly=True)
        _check_efficiency("charge_efficiency", self.charge_efficiency)
        _check_efficiency("discharge_efficiency", self.discharge_efficiency)
        _check_asset_ids(self.asset_ids)
        return self


class PatchSiteInverterRequest(WireModel):
    """Only provided (non-null) fields are applied; asset_ids replaces the whole list."""

    rated_power: NonNegativePower | None = Field(default=None, description="MW, > 0.")
    charge_efficiency: Efficiency | None = None
    discharge_efficiency: Efficiency | None = None
    asset_ids: list[str] | None = Field(default=None, min_length=1, max_length=100, json_schema_extra=ASSET_IDS_SCHEMA)

    @model_validator(mode="after")
    def _check(self) -> PatchSiteInverterRequest:
        _check_non_negative("rated_power", self.rated_power, strictly=True)
        _check_efficiency("charge_efficiency", self.charge_efficiency)
        _check_efficiency("discharge_efficiency", self.discharge_efficiency)
        if self.asset_ids is not None:
            _check_asset_ids(self.asset_ids)
        return self


class SiteLimitPeriodIn(WireModel):
    """A [start_time, end_time) period, quarter-hour aligned, any multiple of 15 minutes; it is
    stored as one row per quarter hour. A null limit means "no limit in that direction"."""

    start_time: UtcInstant
    end_time: UtcInstant
    max_import_from_grid: NonNegativePower | None = None
    max_export_to_grid: NonNegativePower | None = None

    @model_validator(mode="after")
    def _check(self) -> SiteLimitPeriodIn:
        if not is_quarter_aligned(self.start_time) or not is_quarter_aligned(self.end_time):
            raise ValueError("start_time and end_time must be aligned to a quarter hour")
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        _check_non_negative("max_import_from_grid", self.max_import_from_grid)
        _check_non_negative("max_export_to_grid", self.max_export_to_grid)
        return self

    @property
    def quarter_hours(self) -> int:
        return int((self.end_time - self.start_time) / QUARTER_HOUR)


class PutSiteLimitsBase(WireModel):
    limits: list[SiteLimitPeriodIn] = Field(min_length=1, max_length=MAX_LIMIT_ROWS)

    @model_validator(mode="after")
    def _check(self) -> PutSiteLimitsBase:
        total = sum(p.quarter_hours for p in self.limits)
        if total > MAX_LIMIT_ROWS:
            raise ValueError(f"the periods cover {total} quarter hours; at most {MAX_LIMIT_ROWS} per request")
        order = sorted(range(len(self.limits)), key=lambda i: (self.limits[i].start_time, i))
        clashes = []
        reach = order[0]  # the period seen so far that ends last
        for i in order[1:]:
            if self.limits[i].start_time < self.limits[reach].end_time:
                clashes.append(f"limits[{i}] overlaps limits[{reach}]")
            if self.limits[i].end_time > self.limits[reach].end_time:
                reach = i
        if clashes:
            raise ValueError(f"overlapping periods: {'; '.join(clashes)}")
        return self


class PutSiteLimitsRequest(PutSiteLimitsBase):
    pass


class PutSiteInverterLimitsRequest(PutSiteLimitsBase):
    pass


class SiteLimitPeriod(WireModel):
    start_time: datetime
    end_time: datetime
    max_import_from_grid: Power | None
    max_export_to_grid: Power | None


class SiteLimitsPage(WireModel):
    limit: int
    offset: int
    limits: list[SiteLimitPeriod]


class SiteLimitsResponse(SiteLimitsPage):
    pass


class SiteInverterLimitsResponse(SiteLimitsPage):
    pass


class SiteLimitsWrittenResponse(WireModel):
    """What an upsert of limits wrote: the number of quarter-hour rows and their span."""

    rows: int
    start_time: datetime
    end_time: datetime


def span(periods: list[SiteLimitPeriodIn]) -> tuple[datetime, datetime]:
    return min(p.start_time for p in periods), max(p.end_time for p in periods)


READ_WINDOW_SITE = timedelta(days=31)
READ_WINDOW_INVERTER = timedelta(days=7)
