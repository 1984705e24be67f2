"""The notifier's consumer of ``monitoring.failure.v1`` (consumer group ``monitoring-service.notifier``).

Each event becomes delivery rows (``service.record_event``) in the consumer's transaction, which also
records the event id in ``processed_events``; the offset is committed after it. Nothing is sent here:
the dispatcher (``dispatcher.py``) sends from the rows, so an SMTP or webhook outage never holds up the
topic, and an event is never lost once consumed. Invalid events go to ``monitoring.failure.v1.dlq``.
"""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner, PoisonMessage
from gridcommons.events import CloudEvent, Consumes

from ..db import outbox
from ..failures import events
from ..settings import MonitoringSettings
from . import service

GROUP = "monitoring-service.notifier"
BATCH_SIZE = 100
CONSUMES = Consumes(
    GROUP,
    (events.TOPIC,),
    "Notifications of failures: each detected/closed event becomes an e-mail to the community's recipients "
    "(or the default ones) and a signed POST to its webhook, recorded as deliveries that the dispatcher sends "
    "with retries (an SMTP outage delays them, never loses them; one delivery per event and channel).",
    group=GROUP,  # a consumer group of its own: neither waits behind the replicas nor holds them up
)


class Notifier:
    """The consumer's handler: the settings give the default recipients, sender and time zone."""

    def __init__(self, settings: MonitoringSettings):
        self.settings = settings

    async def apply(self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = CloudEvent.model_validate_json(msg.value or b"")
        except ValidationError as exc:
            raise PoisonMessage(f"invalid CloudEvents envelope: {exc.error_count()} error(s)") from exc
        model = events.PAYLOADS.get(event.type)
        if model is None:
            return  # a later version of the topic may carry other types
        company = event.companyid or ""
        if not company.isdigit() or int(company) <= 0:
            raise PoisonMessage(f"{event.type} without a valid companyid extension")
        try:
            failure = model.model_validate(event.data)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid {event.type} payload: {exc}") from exc
        await service.record_event(session, self.settings, int(company), event, failure)


def runner(settings: MonitoringSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> ConsumerRunner:
    return ConsumerRunner(
        name=GROUP,
        topics=(events.TOPIC,),
        handler=Notifier(settings).apply,
        sessionmaker=sessionmaker,
        outbox=outbox,
        infra=settings.infra,
        # a backlog (after an outage of the relay or the broker) is recorded BATCH_SIZE events a transaction
        batch_size=BATCH_SIZE,
    )
