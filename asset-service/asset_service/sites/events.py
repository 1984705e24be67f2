"""Events the sites domain publishes on ``assets.site.v1`` (key: site id, so that one site's
events, including its inverters' and limits', stay in order)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox

TOPIC = "assets.site.v1"
_PREFIX = "org.gridcommons.assets.site."
SITE_CREATED = _PREFIX + "created"
SITE_UPDATED = _PREFIX + "updated"
SITE_DELETED = _PREFIX + "deleted"
INVERTER_ADDED = _PREFIX + "inverter-added"
INVERTER_UPDATED = _PREFIX + "inverter-updated"
INVERTER_REMOVED = _PREFIX + "inverter-removed"
POC_LIMITS_UPSERTED = _PREFIX + "poc-limits-upserted"
INVERTER_LIMITS_UPSERTED = _PREFIX + "inverter-limits-upserted"


async def publish(session: AsyncSession, company_id: int, site_id: str, type: str, data: dict[str, Any]) -> None:
    await outbox.publish(session, topic=TOPIC, type=type, subject=site_id, data=data, company_id=company_id)
