"""Worker processes: the outbox relay and Kafka consumers, run until SIGINT/SIGTERM.

Usage: ``python -m gridcommons.worker asset_service.workers:build``, where ``build(settings, engine)``
returns the workers. On a signal every worker is asked to stop: consumers stop fetching and
finish the message in hand, producers flush, then the process exits.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger("gridcommons.worker")


class Worker(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


async def run_workers(workers: Sequence[Worker], stop: asyncio.Event) -> None:
    """Run workers until ``stop``; a worker that crashes is logged and restarted after a pause."""

    async def supervise(worker: Worker) -> None:
        while not stop.is_set():
            try:
                await worker.run(stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s crashed; restarting in 1s", worker.name)
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass

    await asyncio.gather(*(supervise(w) for w in workers))


def main(argv: list[str] | None = None) -> None:
    from .db import make_engine
    from .observability import configure_logging

    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) != 1 or ":" not in argv[0]:
        raise SystemExit("usage: python -m gridcommons.worker package.module:build")
    module_name, _, attr = argv[0].partition(":")
    module = importlib.import_module(module_name)
    build = getattr(module, attr)
    settings = module.load_settings()
    configure_logging(f"{module_name}", settings.infra.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        engine = make_engine(settings.infra, application_name=f"{module_name}-worker")
        try:
            workers = build(settings, engine)
            log.info("starting workers: %s", ", ".join(w.name for w in workers))
            await run_workers(workers, stop)
        finally:
            await engine.dispose()
            log.info("workers stopped")

    asyncio.run(run())


if __name__ == "__main__":
    main()
