"""Events of deals: ``org.gridcommons.deals.deal.reported`` on ``deals.deal.v1`` (key: the deal id).

One event per deal that a batch of reports (an HTTP request, a Kafka batch of up to 1,000 messages)
created or moved forward, carrying the deal's newest report of that batch: the intermediate reports
of one batch publish nothing, nor does an older or repeated report (consumers want a deal's newest
state). data = ``DealReportedV1``: the deal's codes and that report, in the wire names of the
ingestion door.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox
from .schemas import Deal


class DealReportedV1(WireModel):
    """A deal created or moved forward by a report."""

    deal_id: str = Field(description="Id of the deal (the event key).")
    community_code: str = Field(description="Code of the deal's community.")
    cluster_code: str = Field(description="Code of the deal's cluster.")
    report_time: int = Field(description="When the report was sent, in epoch seconds.")
    report: Deal = Field(description="The deal's newest report, as ingested (absent fields left out).")


TOPIC = "deals.deal.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the deal id",
    description="Deals as they progress, from ingestion (HTTP and Kafka doors): one event per deal that a batch of "
    "reports (a request, or a Kafka batch of up to 1,000 messages) created or moved forward, with the deal's newest "
    "report of the batch; a batch's intermediate reports, older and repeated reports publish nothing.",
)
REPORTED = "org.gridcommons.deals.deal.reported"
PAYLOADS = {REPORTED: DealReportedV1}


def reported_data(row: dict[str, Any]) -> dict[str, Any]:
    """``DealReportedV1`` of a deal's row, as JSON-ready data: built from the report the row already holds
    (formatted once for the table and the event; a test holds it equal to the model)."""
    return {
        "deal_id": row["deal_id"],
        "community_code": row["community_code"],
        "cluster_code": row["cluster_code"],
        "report_time": row["report_time"],
        "report": row["report"],
    }


async def deals_reported(session: AsyncSession, company_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """One event per deal row created or moved forward (the batch's newest report of the deal), in the rows' order."""
    await outbox.publish_many(
        session,
        topic=TOPIC,
        type=REPORTED,
        company_id=company_id,
        events=[(row["deal_id"], reported_data(row)) for row in rows],
    )
