"""Events the technical-specs domain publishes on ``assets.spec.v1`` (key: asset id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import outbox
from .schemas import SpecResponse

TOPIC = "assets.spec.v1"
CREATED = "org.gridcommons.assets.spec.created"  # a new version (valid_from) was inserted
UPDATED = "org.gridcommons.assets.spec.updated"  # an existing version changed (incl. closed by a newer one)


async def spec_changed(session: AsyncSession, company_id: int, spec: SpecResponse, *, created: bool) -> None:
    await outbox.publish(
        session,
        topic=TOPIC,
        type=CREATED if created else UPDATED,
        subject=spec.asset_id,
        data=spec.model_dump(mode="json"),
        company_id=company_id,
    )
