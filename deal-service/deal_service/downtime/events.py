"""Events of downtime on ``deals.downtime.v1`` (key: the unit's registry id, so one unit's changes stay in order).

- ``org.gridcommons.deals.downtime.opened``: a unit went down (a sample not ``autonomous``, or the silence
  check: no sample for ``data_loss_tolerance_sec``); ``recovery_date_time`` is null.
- ``org.gridcommons.deals.downtime.closed``: a downtime ended (an ``autonomous`` sample came); also a downtime
  that began and ended within the samples of one delivery (a data gap seen when data resumed).
- ``org.gridcommons.deals.downtime.revised``: a late or corrected sample changed past downtime: the downtime
  as it is now (``removed``: it no longer exists) and what it was (``previous_*``, null for a new one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.timeutil import iso_utc
from gridcommons.wire import WireModel

from ..db import outbox


class DowntimeChangedV1(WireModel):
    """A downtime of a unit opened, closed or revised."""

    unit_id: int = Field(description="The unit's id in the community registry (the event key).")
    community_code: str = Field(description="Code of the unit's community.")
    cluster_code: str = Field(description="Code of the unit's cluster.")
    unit_code: str = Field(description="Code of the unit.")
    down_date_time: datetime = Field(description="When the downtime began (UTC).")
    recovery_date_time: datetime | None = Field(description="When it ended (UTC); null while the unit is down.")
    removed: bool = Field(
        default=False, description="`revised` only: the downtime no longer exists (a late sample showed the unit up)."
    )
    previous_down_date_time: datetime | None = Field(
        default=None, description="`revised` only: its start before the revision; null for a downtime new to history."
    )
    previous_recovery_date_time: datetime | None = Field(
        default=None, description="`revised` only: its end before the revision (null: it was open, or new)."
    )


TOPIC = "deals.downtime.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the unit's registry id",
    description="Downtime of units derived from metering.unit-data.v1 (an operation mode other than autonomous, a "
    "data gap of at least the tolerance, or silence): opened, closed, and revised when a late sample changes history.",
)
OPENED = "org.gridcommons.deals.downtime.opened"
CLOSED = "org.gridcommons.deals.downtime.closed"
REVISED = "org.gridcommons.deals.downtime.revised"
PAYLOADS = {OPENED: DowntimeChangedV1, CLOSED: DowntimeChangedV1, REVISED: DowntimeChangedV1}


def _instant(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def changed_data(
    unit: dict[str, Any],
    down: datetime,
    recovery: datetime | None,
    *,
    removed: bool = False,
    previous: tuple[datetime, datetime | None] | None = None,
) -> dict[str, Any]:
    """``DowntimeChangedV1`` as JSON-ready data (a test holds it to the model)."""
    return {
        "unit_id": unit["unit_id"],
        "community_code": unit["community_code"],
        "cluster_code": unit["cluster_code"],
        "unit_code": unit["unit_code"],
        "down_date_time": iso_utc(down),
        "recovery_date_time": _instant(recovery),
        "removed": removed,
        "previous_down_date_time": None if previous is None else iso_utc(previous[0]),
        "previous_recovery_date_time": None if previous is None else _instant(previous[1]),
    }


async def publish(session: AsyncSession, company_id: int, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """One event per change (type, data), in order; the key is the unit's registry id."""
    by_type: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
    for kind, data in changes:  # consecutive events of one type go in one call, keeping the order
        if not by_type or by_type[-1][0] != kind:
            by_type.append((kind, []))
        by_type[-1][1].append((str(data["unit_id"]), data))
    for kind, events in by_type:
        await outbox.publish_many(session, topic=TOPIC, type=kind, company_id=company_id, events=events)
