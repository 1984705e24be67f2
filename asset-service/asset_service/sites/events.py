"""Events the sites domain publishes on ``assets.site.v1`` (key: site id, so that one site's
events, including its inverters' and limits', stay in order). Each type's data is a payload model
below (``PAYLOADS``).

One intended change against the REST shapes the events carried before: the inverters inside
``site.created`` / ``site.updated`` no longer carry ``"assets": null`` (the REST ``expand=assets``
field, never filled in events); everything else is unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import DecimalAmount, Power, Price
from gridcommons.wire import WireModel

from ..assets.schemas import DeliveryArea, Region
from ..db import outbox
from .schemas import DispatchModeName, SiteInverterResponse, SiteResponse

TOPIC = "assets.site.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the site id (a site's events, its inverters' and limits' included, stay in order)",
    description="Sites, their inverters, point-of-connection limits and inverter limits: site created/updated (data: the site with its inverters), deleted, inverter added/updated/removed, PoC and inverter limits upserted (rows written and their span; the periods when at most MAX_EVENT_PERIODS).",
)
_PREFIX = "org.gridcommons.assets.site."
SITE_CREATED = _PREFIX + "created"
SITE_UPDATED = _PREFIX + "updated"
SITE_DELETED = _PREFIX + "deleted"
INVERTER_ADDED = _PREFIX + "inverter-added"
INVERTER_UPDATED = _PREFIX + "inverter-updated"
INVERTER_REMOVED = _PREFIX + "inverter-removed"
POC_LIMITS_UPSERTED = _PREFIX + "poc-limits-upserted"
INVERTER_LIMITS_UPSERTED = _PREFIX + "inverter-limits-upserted"


class SiteDispatchModeV1(WireModel):
    name: DispatchModeName
    floor_price: Price | None
    strike_price: Price | None


class SiteInverterV1(WireModel):
    """An inverter of a site (data of ``inverter-added`` / ``inverter-updated``)."""

    id: str
    site_id: str
    rated_power: Power
    charge_efficiency: DecimalAmount
    discharge_efficiency: DecimalAmount
    asset_ids: list[str]

    @classmethod
    def of(cls, inverter: SiteInverterResponse) -> SiteInverterV1:
        return cls.model_validate(inverter.model_dump(exclude={"assets"}))


class SiteEventV1(WireModel):
    """A site with its inverters (data of ``created`` / ``updated``)."""

    id: str
    name: str
    code: str
    region: Region
    delivery_area: DeliveryArea
    dispatch_mode: SiteDispatchModeV1
    created_at: datetime
    updated_at: datetime
    inverters: list[SiteInverterV1]

    @classmethod
    def of(cls, site: SiteResponse) -> SiteEventV1:
        return cls.model_validate(site.model_dump(exclude={"inverters": {"__all__": {"assets"}}}))


class SiteDeletedV1(WireModel):
    id: str


class InverterRemovedV1(WireModel):
    id: str
    site_id: str


class SiteLimitPeriodV1(WireModel):
    start_time: datetime
    end_time: datetime
    max_import_from_grid: Power | None
    max_export_to_grid: Power | None


class PocLimitsUpsertedV1(WireModel):
    """An upsert of a site's point-of-connection limits: rows written and their span; the periods as
    sent when there are at most ``MAX_EVENT_PERIODS`` of them (otherwise ``periods`` is absent)."""

    site_id: str
    rows: int
    start_time: datetime
    end_time: datetime
    periods: list[SiteLimitPeriodV1] | None = Field(default=None, exclude_if=lambda v: v is None)


class InverterLimitsUpsertedV1(PocLimitsUpsertedV1):
    """``PocLimitsUpsertedV1`` for one inverter's limits."""

    inverter_id: str


PAYLOADS: dict[str, type[WireModel]] = {
    SITE_CREATED: SiteEventV1,
    SITE_UPDATED: SiteEventV1,
    SITE_DELETED: SiteDeletedV1,
    INVERTER_ADDED: SiteInverterV1,
    INVERTER_UPDATED: SiteInverterV1,
    INVERTER_REMOVED: InverterRemovedV1,
    POC_LIMITS_UPSERTED: PocLimitsUpsertedV1,
    INVERTER_LIMITS_UPSERTED: InverterLimitsUpsertedV1,
}


async def publish(
    session: AsyncSession, company_id: int, site_id: str, type: str, data: WireModel | dict[str, Any]
) -> None:
    """Publish ``data`` (``type``'s payload model, or its fields) as that model."""
    payload = data if isinstance(data, WireModel) else PAYLOADS[type].model_validate(data)
    await outbox.publish(session, topic=TOPIC, type=type, subject=site_id, data=payload, company_id=company_id)
