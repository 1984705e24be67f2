"""The downtime workers: the consumer of ``metering.unit-data.v1`` (consumer ``deal-service.downtime``, batch
mode) and the silence check (one replica at a time: a PostgreSQL advisory lock per pass).

The consumer reads each event's unit (registry id and codes), ``time`` and ``operation_mode``; the company
is the event's ``companyid``. Events of other types on the topic are ignored; an event that is not a
valid CloudEvent, lacks a company or whose data lacks those fields goes to
``metering.unit-data.v1.dlq``. Batch mode: every new event of a fetch in one transaction, each unit
re-derived once; a batch that fails is redone one event at a time (the kernel runner).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner, PoisonMessage
from gridcommons.db import unit_of_work
from gridcommons.events import CloudEvent
from gridcommons.timeutil import utcnow

from ..db import outbox
from ..settings import DealSettings
from . import repository, service
from .schemas import UnitDataSample

log = logging.getLogger("deal_service.downtime")

TOPIC = "metering.unit-data.v1"
RECORDED = "org.gridcommons.metering.unit-data.recorded"  # metering-service's event type on TOPIC
GROUP = "deal-service.downtime"
BATCH_SIZE = 500
PRUNE_EVERY = timedelta(minutes=10)  # how often the silence check also prunes old samples
PRUNE_UNITS = 500  # units pruned per statement batch


def sample_of(msg: ConsumerRecord[bytes, bytes]) -> tuple[int, UnitDataSample] | None:
    """(company, sample) of a unit-data event; None for another event type; poison when unreadable."""
    try:
        event = CloudEvent.model_validate_json(msg.value or b"")
    except ValidationError as exc:
        raise PoisonMessage(f"invalid CloudEvents envelope: {exc.error_count()} error(s)") from exc
    if event.type != RECORDED:
        return None
    company = event.companyid or ""
    if not company.isdigit() or int(company) <= 0:
        raise PoisonMessage(f"{event.type} without a valid companyid extension")
    try:
        return int(company), UnitDataSample.model_validate(event.data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {event.type} payload: {exc.error_count()} error(s)") from exc


def consumer(settings: DealSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> ConsumerRunner:
    tolerance = timedelta(seconds=settings.data_loss_tolerance_sec)

    async def apply(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        sample = sample_of(msg)
        if sample is not None:
            await service.record_samples(session, [sample], tolerance)

    async def apply_batch(session: AsyncSession, messages: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        samples = [s for s in (sample_of(m) for m in messages) if s is not None]
        await service.record_samples(session, samples, tolerance)

    return ConsumerRunner(
        name=GROUP,
        topics=(TOPIC,),
        handler=apply,
        batch_handler=apply_batch,
        batch_size=BATCH_SIZE,
        sessionmaker=sessionmaker,
        outbox=outbox,
        infra=settings.infra,
    )


class SilenceCheck:
    """Every ``downtime_check_interval_sec``: opens a downtime for each available unit silent for the
    tolerance (``service.check_silence``), and every ``PRUNE_EVERY`` prunes samples past the retention.
    Every replica runs it; a pass takes a transaction-level advisory lock first, so one replica at a time
    does the work and a replica that finds it taken skips that pass. ``clock`` is injectable for tests."""

    name = "deal-service.downtime-silence"

    def __init__(
        self,
        settings: DealSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.tolerance = timedelta(seconds=settings.data_loss_tolerance_sec)
        self.last_pass: float | None = None
        self.last_prune: datetime | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_pass is None else round(time.monotonic() - self.last_pass, 1)
        limit = max(3 * self.settings.downtime_check_interval_sec, 60.0)
        return {"ready": ago is not None and ago < limit, "last_pass_seconds_ago": ago}

    async def check_once(self, now: datetime | None = None) -> list[tuple[int, int]] | None:
        """One pass: the units opened as down, or None when another replica held the lock."""
        now = now or self.clock()
        async with unit_of_work(self.sessionmaker) as session:
            opened = await service.check_silence(session, now, self.tolerance)
            if opened is not None and (self.last_prune is None or now - self.last_prune >= PRUNE_EVERY):
                cutoff = now - timedelta(seconds=self.settings.downtime_sample_retention_sec)
                pruned = await repository.prune_samples(session, cutoff, PRUNE_UNITS)
                if pruned:
                    log.info("downtime: %d sample(s) older than %s pruned", pruned, cutoff)
                self.last_prune = now
        self.last_pass = time.monotonic()
        if opened:
            log.info("downtime: %d silent unit(s) opened as down", len(opened))
        return opened

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception:  # the next pass retries; one bad pass never stops the check
                log.exception("downtime silence check failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.downtime_check_interval_sec)
            except TimeoutError:
                pass
