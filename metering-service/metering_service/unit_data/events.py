"""Events of unit data: ``org.gridcommons.metering.unit-data.recorded`` on ``metering.unit-data.v1``
(key: the registry's unit id), one per stored document (a document already stored publishes nothing).
deal-service computes downtime from them; monitoring takes them as the unit's sign of life."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox


class UnitDataRecordedV1(WireModel):
    """A unit data document stored: the fields consumers read, and the document itself."""

    unit_id: int = Field(description="The unit's id in the community registry.")
    community_code: str = Field(description="Code of the unit's community.")
    cluster_code: str = Field(description="Code of the unit's cluster.")
    unit_code: str = Field(description="Code of the unit.")
    dataset_id: int = Field(description="Id of the report (`datasetId`, epoch milliseconds; 0 is valid).")
    time: datetime = Field(description="When the unit took the measurements (UTC).")
    rsoc: float | None = Field(description="Battery relative state of charge in % (`battery.rsoc`), if sent.")
    operation_mode: str | None = Field(description="`apis.operation_mode.effective`, if sent.")
    remaining_capacity_wh: float | None = Field(description="`apis.remaining_capacity_wh`, if sent.")
    is_grid_master: bool | None = Field(description="`apis.is_grid_master`, if sent.")
    document: dict[str, Any] = Field(description="The document as stored (network identifiers included).")


TOPIC = "metering.unit-data.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the unit's registry id",
    description="One event per unit data document stored (a repeated (unit, datasetId) publishes nothing): "
    "the extracted fields and the document. Downtime and sign-of-life monitoring read it.",
)
RECORDED = "org.gridcommons.metering.unit-data.recorded"
PAYLOADS = {RECORDED: UnitDataRecordedV1}

_FIELDS = tuple(name for name in UnitDataRecordedV1.model_fields if name not in ("time", "document"))


async def unit_data_recorded(session: AsyncSession, company_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """One event per stored row; ``data`` built as JSON-ready dicts (the shape of ``UnitDataRecordedV1``):
    the document is JSON already, serialising it again through the model would double the cost of a batch."""
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=RECORDED,
        company_id=company_id,
        events=[
            (
                str(r["unit_id"]),
                {**{f: r[f] for f in _FIELDS}, "time": r["stored"]["time"], "document": r["stored"]},
            )
            for r in rows
        ],
    )
