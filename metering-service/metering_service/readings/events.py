"""Events of readings: ``org.gridcommons.metering.readings.recorded`` on ``metering.readings.v1``
(key: series id).

One event per series and accepted batch that wrote something (new readings or replaced values; a
replayed batch publishes nothing), not one per reading: data = ``ReadingsRecordedV1``, the range of
instants written and how many readings of each quality. Consumers that need the values read them
(``GET /api/metering/series/{id}/readings?from&to``) or recompute their aggregates over the range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox
from .repository import Written


class ReadingsRecordedV1(WireModel):
    """Readings of one series written by one batch."""

    series_id: int = Field(description="The series.")
    external_key: str = Field(description="The series' external key when the batch was written.")
    from_: datetime = Field(alias="from", description="First instant written (UTC, inclusive).")
    to: datetime = Field(description="Last instant written (UTC, inclusive).")
    count: int = Field(description="Readings written (new or replaced).")
    quality_counts: dict[str, int] = Field(
        description="Readings written per quality (corrected, measured, estimated, provisional; absent: none)."
    )


TOPIC = "metering.readings.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the series id",
    description="One event per series and accepted batch of readings: the time range the batch wrote and its "
    "counts per quality (not one event per reading). Consumers read the readings they need from the series.",
)
RECORDED = "org.gridcommons.metering.readings.recorded"
PAYLOADS = {RECORDED: ReadingsRecordedV1}


async def readings_recorded(
    session: AsyncSession, company_id: int, written: Sequence[Written], keys: Mapping[int, str]
) -> None:
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=RECORDED,
        company_id=company_id,
        events=[
            (
                str(w.series_id),
                ReadingsRecordedV1.model_validate(
                    {
                        "series_id": w.series_id,
                        "external_key": keys[w.series_id],
                        "from": w.first,
                        "to": w.last,
                        "count": w.count,
                        "quality_counts": w.qualities,
                    }
                ),
            )
            for w in written
        ],
    )
