"""Notification latency: a failure event written through monitoring-service's outbox → the mail accepted
by the SMTP server.

    .venv/bin/python bench/monitoring_notify.py [--events 100] [--burst 200]

An embedded PostgreSQL and Tansu broker on free ports, monitoring-service migrated, its workers in this
process as the worker process runs them (outbox relay woken by NOTIFY, the notifier's consumer group on
``monitoring.failure.v1``, the dispatcher woken by NOTIFY), and a real SMTP server (aiosmtpd) on loopback.

- **one at a time**: ``--events`` failure events, 0.1–0.4 s apart at random (so that an event meets the
  consumer at any point of its fetch wait); each timed from before its outbox transaction to the SMTP
  server's DATA handler receiving the mail. p50, p90, max.
- **burst**: ``--burst`` events written in one go (one transaction each, concurrently); the time until the
  last mail arrived (mails/s) and the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import text

from gridcommons.db import make_engine, make_sessionmaker, unit_of_work
from gridcommons.devstack import EmbeddedBroker, EmbeddedPostgres, free_port, remove_tree
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
COMPANY = 1


class Inbox:
    """The SMTP server's side: when each event's mail arrived (perf_counter, from the server's thread)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        now = time.perf_counter()
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"x-gridcommons-event-id:"):
                with self.lock:
                    self.arrived[line.split(b":", 1)[1].strip().decode()] = now
                break
        return "250 OK"


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"{name:<22} p50 {statistics.median(values):7.1f} ms   p90 {p90:7.1f} ms   max {values[-1]:7.1f} ms  (n={len(values)})"


async def publish(sessionmaker: Any, failure_id: int) -> tuple[str, float]:
    from monitoring_service.db import outbox
    from monitoring_service.failures.events import DETECTED, TOPIC, FailureV1

    data = FailureV1(
        failure_id=failure_id,
        status="detected",
        type="apis_main_alive",
        community_id="bench_community",
        cluster_id="bench_cluster",
        program_id="apis-main",
        unit_id=f"E{failure_id % 1000:03d}",
        detected=datetime.now(UTC),
        closed=None,
        close_reason=None,
        description="The program may not be running.",
    )
    started = time.perf_counter()
    async with unit_of_work(sessionmaker) as session:
        event = await outbox.publish(
            session,
            topic=TOPIC,
            type=DETECTED,
            subject=str(failure_id),
            key=str(failure_id),
            data=data,
            company_id=COMPANY,
        )
    return event.id, started


async def wait_for(inbox: Inbox, ids: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with inbox.lock:
            if all(i in inbox.arrived for i in ids):
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"mails missing after {timeout}s")
        await asyncio.sleep(0.002)


async def run(args: argparse.Namespace, smtp_port: int) -> None:
    from monitoring_service import workers
    from monitoring_service.settings import MonitoringSettings

    settings = MonitoringSettings(
        smtp_port=smtp_port, default_notify_to=["ops@example.com"], notify_from="monitoring@example.com"
    )
    engine = make_engine(settings.infra, application_name="bench-notify")
    sessionmaker = make_sessionmaker(engine)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    built = workers.build(settings, engine)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in built]
    try:
        started = time.monotonic()
        while not all(getattr(w, "health", lambda: {"ready": True})()["ready"] for w in built):
            if time.monotonic() - started > 120:
                raise SystemExit("workers not ready after 120 s")
            await asyncio.sleep(0.1)
        ids = [(await publish(sessionmaker, 900_000 + i))[0] for i in range(5)]  # warm-up
        await wait_for(inbox, ids)

        latencies = []
        for i in range(args.events):
            event_id, t0 = await publish(sessionmaker, i + 1)
            await wait_for(inbox, [event_id])
            latencies.append((inbox.arrived[event_id] - t0) * 1000)
            await asyncio.sleep(random.uniform(0.1, 0.4))
        print(summary("one at a time", latencies), flush=True)

        wall0, t0 = time.time(), time.perf_counter()
        sent = await asyncio.gather(*(publish(sessionmaker, 100_000 + i) for i in range(args.burst)))
        await wait_for(inbox, [e for e, _ in sent], timeout=300)
        last = max(inbox.arrived[e] for e, _ in sent)
        print(summary(f"burst of {args.burst}", [(inbox.arrived[e] - t) * 1000 for e, t in sent]), flush=True)
        print(f"{'burst throughput':<22} {args.burst / (last - t0):7.1f} mails/s ({last - t0:.2f} s)", flush=True)
        async with engine.connect() as conn:  # where the time went: recorded by the notifier, marked by the dispatcher
            written, published = (
                await conn.execute(
                    text(
                        "SELECT extract(epoch FROM max(created_at)), extract(epoch FROM max(published_at)) "
                        "FROM monitoring.outbox WHERE (payload->'data'->>'failure_id')::bigint >= 100000"
                    )
                )
            ).one()
            recorded, marked = (
                await conn.execute(
                    text(
                        "SELECT extract(epoch FROM max(created_at)), extract(epoch FROM max(delivered_at)) "
                        "FROM monitoring.notification_deliveries WHERE failure_id >= 100000"
                    )
                )
            ).one()
        print(
            f"{'burst, the last one':<22} written {float(written) - wall0:.2f} s, published {float(published) - wall0:.2f} s, "
            f"recorded {float(recorded) - wall0:.2f} s, marked delivered {float(marked) - wall0:.2f} s after the start",
            flush=True,
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        controller.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-notify-"))
    os.chmod(tmp, 0o755)
    pg = broker = None
    try:
        pg = EmbeddedPostgres(tmp / "pg", free_port(), database="gridcommons_bench")
        db_url = pg.start()
        broker = EmbeddedBroker(free_port())
        os.environ.update(
            {
                "DATABASE_URL": db_url,
                "KAFKA_BOOTSTRAP_SERVERS": broker.start(),
                **broker.client_env(),
                "LOG_LEVEL": "WARNING",
                "GRIDCOMMONS_ROOT": str(ROOT),
            }
        )
        registry = {e.name: e for e in load_registry(ROOT)}
        upgrade(registry["monitoring-service"].migrations, db_url)
        asyncio.run(run(args, free_port()))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        remove_tree(tmp)


if __name__ == "__main__":
    main()
