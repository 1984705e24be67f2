"""Worker processes: the outbox relay and Kafka consumers, run until SIGINT/SIGTERM.

Usage: ``python -m gridcommons.worker asset_service.workers:build``, where ``build(settings, engine)``
returns the workers. On a signal every worker is asked to stop: consumers stop fetching and
finish the message in hand, producers flush, then the process exits.

With ``WORKER_HEALTH_PORT`` set, the process answers ``GET /healthz`` (alive) and ``GET /readyz``
(200 when every worker reports ready, else 503, with each worker's ``health()`` as JSON) on
``WORKER_HEALTH_HOST`` (default 127.0.0.1) at that port.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, Protocol

import orjson

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


def workers_health(workers: Sequence[Worker]) -> tuple[bool, dict[str, Any]]:
    """Every worker's ``health()`` (a worker without one only says it runs), and whether all are ready."""
    checks: dict[str, Any] = {}
    for worker in workers:
        health = getattr(worker, "health", None)
        checks[worker.name] = health() if health is not None else {"ready": True}
    return all(c.get("ready") for c in checks.values()), checks


async def serve_health(workers: Sequence[Worker], host: str, port: int, stop: asyncio.Event) -> None:
    """A minimal HTTP/1.1 endpoint for the orchestrator's probes: /healthz and /readyz, until ``stop``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            body: dict[str, Any]
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""]
            path = path.split("?", 1)[0]
            if method != "GET":
                status, body = 405, {"detail": "Method Not Allowed"}
            elif path == "/healthz":
                status, body = 200, {"status": "ok"}
            elif path == "/readyz":
                ok, checks = workers_health(workers)
                status, body = (200 if ok else 503), {"status": "ok" if ok else "unavailable", "workers": checks}
            else:
                status, body = 404, {"detail": "Not Found"}
            payload = orjson.dumps(body)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    log.info("worker health on http://%s:%d/readyz", host, port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


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
            tasks = [run_workers(workers, stop)]
            port = os.environ.get("WORKER_HEALTH_PORT")
            if port:
                host = os.environ.get("WORKER_HEALTH_HOST", "127.0.0.1")
                tasks.append(serve_health(workers, host, int(port), stop))
            await asyncio.gather(*tasks)
        finally:
            await engine.dispose()
            log.info("workers stopped")

    asyncio.run(run())


if __name__ == "__main__":
    main()
