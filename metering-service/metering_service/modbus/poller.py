"""The Modbus TCP poller: every host's assigned measurements, read through its meter model's registers
and written to the readings store (the ingestion write path: one batch per poll).

- One connection (pymodbus ``AsyncModbusTcpClient``) per host, used by one task at a time; the
  registers of a poll are read in as few requests as ``plan.plan`` makes (≤ 125 words each).
- Each host runs on its own grid: due times ``start + k × interval`` (a late poll does not shift the
  next one; a slot missed entirely is skipped). Hosts are polled concurrently, at most
  ``max_concurrent`` at once.
- A host that fails (refused, timed out, exception response) is marked ``stale`` with the reason
  (its resource and ``metering.host-status.v1``) and retried after a back-off (interval × 2^n, up to
  ``backoff_max``); its failure never delays another host (each host is its own task).
- Several worker replicas: a replica polls a host only while it holds the PostgreSQL session-level
  advisory lock ``LOCK_BASE + host id`` on its own connection, so each host is polled by exactly one
  replica; a replica that dies loses its connection and its locks, and another takes the hosts over
  at its next refresh.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from sqlalchemy import and_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from gridcommons.db import make_sessionmaker
from gridcommons.errors import DomainError

from ..meters import repository as meters_repository
from ..meters.models import assigned_measurements, hosts, registers
from ..readings import service as readings_service
from ..readings.repository import WritePlan
from ..series.models import series
from . import events
from .decoding import DataType, WordOrder
from .plan import Request, Target, plan
from .settings import PollerSettings

log = logging.getLogger("metering_service.modbus")

LOCK_BASE = 0x4D42 << 48  # advisory lock keys of hosts: LOCK_BASE + host id ("MB", Modbus)


@dataclass(frozen=True)
class HostConfig:
    host_id: int
    company_id: int
    ip: str
    port: int
    slave_address: int
    interval: float
    status: str
    status_reason: str | None
    requests: tuple[Request, ...]


@dataclass
class PollStats:
    polls: int = 0
    failures: int = 0
    readings: int = 0
    poll_seconds: float = 0.0  # wall time inside polls (connect, reads, write)
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))


def value_text(value: float, data_type: DataType) -> str:
    """A plain decimal for a decoded value: integers as they are; a float32 as its shortest decimal
    that reads back as the same float32 (231.8655 rather than 231.86550903320312)."""
    if data_type != DataType.FLOAT:
        return str(int(value))
    packed = struct.pack(">f", value)
    for digits in range(6, 10):
        candidate = f"{value:.{digits}g}"
        if struct.pack(">f", float(candidate)) == packed:
            break
    return format(Decimal(candidate), "f")


async def load_hosts(session: AsyncSession, *, max_gap: int = 0) -> dict[int, HostConfig]:
    """Every host with at least one assignment on a live series, with its reading plan."""
    stmt = (
        select(
            hosts.c.id,
            hosts.c.company_id,
            hosts.c.ip,
            hosts.c.port,
            hosts.c.slave_address,
            hosts.c.poll_interval_seconds,
            hosts.c.status,
            hosts.c.status_reason,
            assigned_measurements.c.series_id,
            registers.c.address,
            registers.c.type,
            registers.c.word_order,
            registers.c.function_code,
        )  # fmt: skip
        .join(assigned_measurements, assigned_measurements.c.host_id == hosts.c.id)
        .join(
            registers,
            and_(
                registers.c.meter_id == hosts.c.meter_id, registers.c.measurement == assigned_measurements.c.measurement
            ),
        )
        .join(series, and_(series.c.id == assigned_measurements.c.series_id, series.c.retired_at.is_(None)))
        .order_by(hosts.c.id)
    )
    rows = (await session.execute(stmt)).mappings().all()
    targets: dict[int, list[Target]] = {}
    first: dict[int, Any] = {}
    for r in rows:
        first.setdefault(r["id"], r)
        targets.setdefault(r["id"], []).append(
            Target(r["series_id"], r["address"], DataType(r["type"]), WordOrder(r["word_order"]), r["function_code"])
        )
    return {
        hid: HostConfig(
            hid,
            r["company_id"],
            r["ip"],
            r["port"],
            r["slave_address"],
            r["poll_interval_seconds"],
            r["status"],
            r["status_reason"],
            tuple(plan(targets[hid], max_gap=max_gap)),
        )  # fmt: skip
        for hid, r in first.items()
    }


def next_due(due: float, now: float, interval: float, failures: int, backoff_max: float) -> float:
    """When a host is polled next, after the poll that was due at ``due`` ended at ``now``: on success
    (``failures`` 0) the next slot of its grid ``due + k × interval`` that is after ``now`` (a late poll
    does not shift the grid; slots missed entirely are skipped); after the n-th failure in a row,
    ``now + min(interval × 2^(n-1), backoff_max)``."""
    if failures:
        return now + min(interval * 2 ** min(failures - 1, 60), backoff_max)
    nxt = due + interval
    if nxt <= now:
        nxt += math.ceil((now - nxt) / interval) * interval
        if nxt <= now:  # float rounding at an exact multiple
            nxt += interval
    return nxt


class PollFailed(Exception):
    pass


class HostPoller:
    """Polls one host on its grid until cancelled."""

    def __init__(self, owner: ModbusPoller, config: HostConfig) -> None:
        self.owner = owner
        self.config = config
        self.client: AsyncModbusTcpClient | None = None
        self.failures = 0
        self.status = config.status
        self.reason = config.status_reason

    async def run(self) -> None:
        cfg = self.config
        # first poll at a random point of the first interval: replicas starting together do not burst
        due = time.monotonic() + random.uniform(0, min(cfg.interval, self.owner.settings.refresh_seconds))
        try:
            while True:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                async with self.owner.semaphore:
                    started = time.monotonic()
                    self.owner.stats.lateness.append(started - due)
                    ok = await self.poll_once()
                    self.owner.stats.poll_seconds += time.monotonic() - started
                self.failures = 0 if ok else self.failures + 1
                due = next_due(
                    due, time.monotonic(), self.config.interval, self.failures, self.owner.settings.backoff_max_seconds
                )
        finally:
            self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def _read(self) -> list[dict[str, Any]]:
        cfg = self.config
        timeout = self.owner.settings.timeout_seconds
        if self.client is None or not self.client.connected:
            self.close()
            self.client = AsyncModbusTcpClient(cfg.ip, port=cfg.port, timeout=timeout, retries=0, reconnect_delay=0)
            if not await self.client.connect():
                raise PollFailed(f"cannot connect to {cfg.ip}:{cfg.port}")
        items: list[dict[str, Any]] = []
        for req in cfg.requests:
            read = self.client.read_holding_registers if req.function_code == 3 else self.client.read_input_registers
            rr = await asyncio.wait_for(read(req.address, count=req.count, device_id=cfg.slave_address), timeout * 2)
            if rr.isError():
                raise PollFailed(
                    f"exception response {getattr(rr, 'exception_code', '?')} to function {req.function_code} "
                    f"at {req.address} (+{req.count})"
                )
            at = datetime.now(UTC).isoformat()  # the read time of these registers
            if len(rr.registers) < req.count:
                raise PollFailed(f"short answer to function {req.function_code} at {req.address}")
            kinds = {t.series_id: t.data_type for t in req.targets}
            for series_id, value in req.values(list(rr.registers)):
                if math.isfinite(value):  # NaN / infinity: the device has no value now
                    items.append({"series_id": series_id, "time": at, "value": value_text(value, kinds[series_id])})
        return items

    async def poll_once(self) -> bool:
        cfg = self.config
        try:
            items = await self._read()
        except (PollFailed, ModbusException, OSError, TimeoutError) as exc:
            self.close()
            reason = (str(exc) or exc.__class__.__name__)[:500]
            self.owner.stats.failures += 1
            await self._set_status("stale", reason)
            return False
        self.owner.stats.polls += 1
        self.owner.stats.readings += len(items)
        try:
            async with self.owner.sessionmaker.begin() as session:
                if items:
                    await readings_service.record_readings(
                        session, cfg.company_id, items, ["poll"], plan=self.owner.write_plan
                    )
                await self._status_in(session, "ok", None, polled=True)
        except DomainError as exc:  # e.g. a series retired since the last refresh: the next refresh drops it
            log.warning("readings of host %s refused: %s", cfg.host_id, exc)
        return True

    async def _set_status(self, status: str, reason: str | None) -> None:
        async with self.owner.sessionmaker.begin() as session:
            await self._status_in(session, status, reason, polled=False)

    async def _status_in(self, session: AsyncSession, status: str, reason: str | None, *, polled: bool) -> None:
        cfg = self.config
        now = datetime.now(UTC)
        values: dict[str, Any] = {"last_polled_at": now} if polled else {}
        changed = status != self.status
        if changed or reason != self.reason:
            values |= {"status": status, "status_reason": reason}
        if changed:
            values["status_changed_at"] = now
            log.info("host %s is %s%s", cfg.host_id, status, f": {reason}" if reason else "")
            await events.host_status_changed(
                session,
                cfg.company_id,
                events.HostStatusChangedV1(
                    host_id=cfg.host_id,
                    status=status,
                    reason=reason,
                    at=now,
                    ip=cfg.ip,
                    port=cfg.port,
                    slave_address=cfg.slave_address,
                ),  # fmt: skip
            )
        if values:
            await meters_repository.set_host_status(session, cfg.host_id, values)
        self.status, self.reason = status, reason


class ModbusPoller:
    """The worker: takes hosts (advisory locks), runs one ``HostPoller`` task per host taken."""

    name = "metering-service.modbus-poller"

    def __init__(
        self, engine: AsyncEngine, settings: PollerSettings = PollerSettings(), write_plan: WritePlan = WritePlan()
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.write_plan = write_plan
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.semaphore = asyncio.Semaphore(settings.max_concurrent)
        self.stats = PollStats()
        self.pollers: dict[int, HostPoller] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.last_refresh: float | None = None

    def health(self) -> dict[str, Any]:
        ago = None if self.last_refresh is None else round(time.monotonic() - self.last_refresh, 1)
        ready = ago is not None and ago < max(3 * self.settings.refresh_seconds, 60.0)
        return {"ready": ready, "hosts": len(self.tasks), "last_refresh_seconds_ago": ago}

    async def _lock(self, conn: AsyncConnection, host_id: int) -> bool:
        return bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_BASE + host_id})).scalar())

    async def _unlock(self, conn: AsyncConnection, host_id: int) -> None:
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_BASE + host_id})

    def _drop(self, host_id: int) -> None:
        task = self.tasks.pop(host_id, None)
        self.pollers.pop(host_id, None)
        if task is not None:
            task.cancel()

    async def refresh(self, conn: AsyncConnection) -> None:
        """Re-read the hosts; take the free ones (up to ``max_hosts``), let go of those gone."""
        async with self.sessionmaker() as session:
            configs = await load_hosts(session, max_gap=self.settings.max_gap)
        for host_id in [h for h in self.tasks if h not in configs]:
            self._drop(host_id)
            await self._unlock(conn, host_id)
        for host_id, cfg in configs.items():
            poller = self.pollers.get(host_id)
            if poller is not None:
                poller.config = cfg
            elif len(self.tasks) < self.settings.max_hosts and await self._lock(conn, host_id):
                poller = HostPoller(self, cfg)
                self.pollers[host_id] = poller
                self.tasks[host_id] = asyncio.create_task(poller.run(), name=f"modbus-host-{host_id}")
        for host_id, task in list(self.tasks.items()):  # a host task that crashed: start it again
            if task.done() and not task.cancelled():
                log.error("poller of host %s ended: %r; restarting it", host_id, task.exception())
                self.tasks[host_id] = asyncio.create_task(self.pollers[host_id].run(), name=f"modbus-host-{host_id}")
        self.last_refresh = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        conn = await (await self.engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
        try:
            while not stop.is_set():
                await self.refresh(conn)  # a lost lock connection raises here: every task stops below
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.refresh_seconds)
                except TimeoutError:
                    pass
        finally:
            for host_id in list(self.tasks):
                self._drop(host_id)
            await conn.close()  # releases every lock

    def owned(self) -> Sequence[int]:
        return sorted(self.tasks)
