"""Events of rollups: ``org.gridcommons.metering.rollup.revised`` on ``metering.rollup.revised.v1``
(key: series id).

Published when late or corrected readings (at or before the series' latest stored reading) changed
rollups that were already there: the range of quarter hours whose rollups changed, so that consumers
(community KPIs) recompute their own aggregates over it. New readings after the latest one publish
only ``metering.readings.v1``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox


class RollupRevisedV1(WireModel):
    """Rollups of one series revised by a batch of late or corrected readings."""

    series_id: int = Field(description="The series.")
    external_key: str = Field(description="The series' external key when the rollups were revised.")
    timezone: str = Field(description="The series' time zone (IANA name): its local days and months changed too.")
    from_: datetime = Field(alias="from", description="Start of the first revised quarter hour (UTC, inclusive).")
    to: datetime = Field(description="End of the last revised quarter hour (UTC, exclusive).")


TOPIC = "metering.rollup.revised.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the series id",
    description="One event per series and batch of late or corrected readings that changed its rollups: the "
    "range [from, to) of quarter hours whose values or coverage changed (the hours, days and months that "
    "contain them changed as well).",
)
REVISED = "org.gridcommons.metering.rollup.revised"
PAYLOADS = {REVISED: RollupRevisedV1}


async def rollups_revised(session: AsyncSession, company_id: int, revised: list[RollupRevisedV1]) -> None:
    if revised:
        await outbox.publish_many(
            session,
            topic=TOPIC,
            type=REVISED,
            company_id=company_id,
            events=[(str(r.series_id), r) for r in revised],
        )
