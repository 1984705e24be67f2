"""Events the technical-specs domain publishes on ``assets.spec.v1`` (key: asset id); data =
``SpecChangedV1``, the spec version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.quantity import DecimalAmount, Energy, Power
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import SpecResponse

TOPIC = "assets.spec.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the asset id",
    description="Technical spec versions: created when a new version (valid_from) is inserted, updated when an existing version changed (including closed by a newer one); data: the version.",
)
CREATED = "org.gridcommons.assets.spec.created"  # a new version (valid_from) was inserted
UPDATED = "org.gridcommons.assets.spec.updated"  # an existing version changed (incl. closed by a newer one)


class SpecChangedV1(WireModel):
    """One version of an asset's technical spec, valid in [valid_from, valid_to)."""

    asset_id: str
    valid_from: datetime
    valid_to: datetime | None
    rated_power: Power | None
    grid_connection_max_power: Power | None
    max_capacity: Energy | None
    ramp_rate: DecimalAmount | None
    ramp_type: str | None
    charge_efficiency: DecimalAmount | None
    discharge_efficiency: DecimalAmount | None
    daily_cycle_energy_limit: Energy | None
    prequalified_fcr: Power | None
    prequalified_afrr_charge: Power | None
    prequalified_afrr_discharge: Power | None
    created_at: datetime
    updated_at: datetime


PAYLOADS = {CREATED: SpecChangedV1, UPDATED: SpecChangedV1}


async def spec_changed(session: AsyncSession, company_id: int, spec: SpecResponse, *, created: bool) -> None:
    await outbox.publish(
        session,
        topic=TOPIC,
        type=CREATED if created else UPDATED,
        subject=spec.asset_id,
        data=SpecChangedV1.model_validate(dict(spec)),
        company_id=company_id,
    )
