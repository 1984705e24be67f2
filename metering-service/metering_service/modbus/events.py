"""Events of the Modbus poller: ``org.gridcommons.metering.host-status.changed`` on
``metering.host-status.v1`` (key: host id), when a host turns stale (it stopped answering or refused a
read; the reason says which) or answers again."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox


class HostStatusChangedV1(WireModel):
    """A host's status as the poller now sees it."""

    host_id: int = Field(description="The host.")
    status: str = Field(description="ok: it answered every register; stale: the last poll failed.")
    reason: str | None = Field(description="Why the host is stale (null when ok).")
    at: datetime = Field(description="When the poller saw the change (UTC).")
    ip: str = Field(description="IP address of the host's Modbus TCP endpoint.")
    port: int = Field(description="TCP port of the endpoint.")
    slave_address: int = Field(description="Modbus unit id.")


TOPIC = "metering.host-status.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the host id",
    description="A host polled over Modbus TCP turned stale (unreachable, timed out or refusing a read, with the "
    "reason) or answers again; one event per change, not per poll.",
)
CHANGED = "org.gridcommons.metering.host-status.changed"
PAYLOADS = {CHANGED: HostStatusChangedV1}


async def host_status_changed(session: AsyncSession, company_id: int, event: HostStatusChangedV1) -> None:
    await outbox.publish(
        session,
        topic=TOPIC,
        type=CHANGED,
        company_id=company_id,
        key=str(event.host_id),
        subject=f"hosts/{event.host_id}",
        data=event,
    )
