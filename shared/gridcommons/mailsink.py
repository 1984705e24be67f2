"""A mail sink for ``make run``: an SMTP server on loopback that keeps every message it accepts as a
``.eml`` file, so that the demo's failure e-mails (monitoring-service's notifications) can be read
without a mail server. Development only (aiosmtpd is a development dependency).

    python -m gridcommons.mailsink --port 2525 --dir .data/mail
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class KeepMessages:
    """aiosmtpd handler: each message as ``<UTC time>-<n>.eml`` in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{next(self._numbers):05d}.eml"
        content = envelope.original_content or envelope.content
        partial = self.folder / (name + ".part")
        partial.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        partial.rename(self.folder / name)  # a reader never sees half a message
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridcommons.mailsink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(KeepMessages(args.dir), hostname="127.0.0.1", port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
