"""The jobs' workers: one ``JobRunner`` per job type (a pass every interval, one replica at a time),
and the consumer of ``metering.unit-data.v1`` (consumer ``monitoring-service.unit-data``) that keeps
each cluster's newest unit data instant — apis-ccc is the program that reports unit data, so a fresh
report is as good a sign of its life as its ``reporting unit data`` log line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridcommons.consumer import ConsumerRunner, PoisonMessage
from gridcommons.events import CloudEvent, Consumes
from gridcommons.settings import InfraSettings

from ..db import outbox
from ..settings import MonitoringSettings
from . import repository, service

log = logging.getLogger("monitoring_service.jobs")

UNIT_DATA_TOPIC = "metering.unit-data.v1"
UNIT_DATA_RECORDED = "org.gridcommons.metering.unit-data.recorded"
UNIT_DATA_GROUP = "monitoring-service.unit-data"
UNIT_DATA_BATCH = 500

UNIT_DATA_CONSUMES = Consumes(
    UNIT_DATA_GROUP,
    (UNIT_DATA_TOPIC,),
    "Keeps each cluster's newest unit data instant: apis-ccc reports the unit data, so a report measured "
    "within the apis_ccc_alive window counts as apis-ccc alive.",
)


class _UnitData(BaseModel):
    # The fields read of metering's UnitDataRecordedV1 (the rest ignored).
    model_config = ConfigDict(extra="ignore")

    community_code: str
    cluster_code: str
    time: datetime


def _sighting(msg: ConsumerRecord[bytes, bytes]) -> tuple[int, str, str, datetime] | None:
    try:
        event = CloudEvent.model_validate_json(msg.value or b"")
    except ValidationError as exc:
        raise PoisonMessage(f"invalid CloudEvents envelope: {exc.error_count()} error(s)") from exc
    if event.type != UNIT_DATA_RECORDED:
        return None
    company = event.companyid or ""
    if not company.isdigit() or int(company) <= 0:
        raise PoisonMessage("unit data event without a valid companyid extension")
    try:
        data = _UnitData.model_validate(event.data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid unit data payload: {exc.error_count()} error(s)") from exc
    if data.time.tzinfo is None:
        raise PoisonMessage("unit data time without an offset")
    # A clock ahead of ours must not keep apis-ccc "alive" into the future.
    at = min(data.time.astimezone(UTC), datetime.now(UTC))
    return (int(company), data.community_code, data.cluster_code, at)


async def _apply(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
    seen = _sighting(msg)
    if seen is not None:
        await repository.record_unit_data(session, [seen])


async def _apply_batch(session: AsyncSession, msgs: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
    seen = [s for s in (_sighting(m) for m in msgs) if s is not None]
    await repository.record_unit_data(session, seen)


def unit_data_consumer(infra: InfraSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> ConsumerRunner:
    return ConsumerRunner(
        name=UNIT_DATA_GROUP,
        topics=(UNIT_DATA_TOPIC,),
        handler=_apply,
        sessionmaker=sessionmaker,
        outbox=outbox,
        infra=infra,
        batch_size=UNIT_DATA_BATCH,
        batch_handler=_apply_batch,
    )


class JobRunner:
    """The passes of one job type: after ``initial_wait_seconds``, a pass every interval. Every replica
    runs one; the advisory lock and the recorded start of the last pass let one replica run each pass."""

    def __init__(
        self,
        job_type: str,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: MonitoringSettings,
    ) -> None:
        self.job_type = job_type
        self.name = f"monitoring-service.job.{job_type}"
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.interval = float(settings.interval_seconds(job_type))
        self.last_success: float | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_success is None else round(time.monotonic() - self.last_success, 1)
        waiting = self.last_success is None  # before its first pass the runner is ready (it waits)
        ready = waiting or (ago is not None and ago < 3 * self.interval + 60)
        return {"ready": ready, "last_pass_seconds_ago": ago}

    async def run(self, stop: asyncio.Event) -> None:
        if await _sleep(stop, self.settings.initial_wait_seconds):
            return
        while not stop.is_set():
            try:
                # A replica that takes the lock just after another one's pass skips (half an interval).
                await service.run_pass(
                    self.engine, self.sessionmaker, self.settings, self.job_type, min_gap_seconds=self.interval / 2
                )
                self.last_success = time.monotonic()
            except Exception as exc:  # database away: try again at the next interval
                log.warning("job %s: pass failed (%s)", self.job_type, exc.__class__.__name__)
            if await _sleep(stop, self.interval):
                return


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; True if stopped."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return stop.is_set()
