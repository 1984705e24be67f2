"""Upload a CSV file of readings into a series through the gateway, with a progress bar.

    python -m metering_service.import_cli FILE --series ID --gateway URL --token TOKEN --company ID

The file (header ``time,value[,quality][,unit]``) is streamed (never read whole into memory) to
``POST /api/metering/series/{ID}/import``; the service reads, checks and writes it as it arrives, so
the upload advances at the pace of the import. At the end the import's counters are printed, with the
first rejected rows (line, column, reason). Exit status: 0 when the import completed, 1 when it
failed or was refused, 2 for a usage error. Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse
from typing import IO, Any

BLOCK = 256 * 1024


class Progress:
    """A progress bar on a terminal (redrawn at most 10 times a second), else a line every 10 %."""

    def __init__(self, total: int, out: IO[str]):
        self.total = max(total, 1)
        self.out = out
        self.start = time.monotonic()
        self.drawn = 0.0
        self.tenth = -1
        self.tty = out.isatty()

    def update(self, sent: int, final: bool = False) -> None:
        now = time.monotonic()
        share = sent / self.total
        if self.tty:
            if not final and now - self.drawn < 0.1:
                return
            self.drawn = now
            elapsed = max(now - self.start, 1e-6)
            rate = sent / elapsed
            eta = (self.total - sent) / rate if rate > 0 else 0.0
            bar = "#" * int(share * 30)
            self.out.write(
                f"\r[{bar:<30}] {share * 100:5.1f}% {sent / 1e6:8.1f}/{self.total / 1e6:.1f} MB "
                f"{rate / 1e6:6.1f} MB/s ETA {int(eta) // 60}:{int(eta) % 60:02d}"
            )
            if final:
                self.out.write("\n")
        elif int(share * 10) > self.tenth:
            self.tenth = int(share * 10)
            self.out.write(f"{share * 100:.0f}% ({sent:,} of {self.total:,} bytes)\n")
        self.out.flush()


def upload(
    path: str, series_id: int, gateway: str, token: str, company: str | None, out: IO[str] = sys.stderr
) -> tuple[int, Any]:
    """(HTTP status, decoded JSON answer) of the upload of ``path``."""
    url = urllib.parse.urlsplit(gateway)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"--gateway must be an http(s) URL, got {gateway!r}")
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = connection_class(url.hostname, url.port, timeout=3600)
    size = os.path.getsize(path)
    target = f"{url.path.rstrip('/')}/api/metering/series/{series_id}/import"
    try:
        conn.putrequest("POST", target)
        conn.putheader("Authorization", f"Bearer {token}")
        if company:
            conn.putheader("CompanyID", company)
        conn.putheader("Content-Type", "text/csv")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        progress = Progress(size, out)
        sent = 0
        with open(path, "rb") as file:
            while block := file.read(BLOCK):
                try:
                    conn.send(block)
                except (BrokenPipeError, ConnectionResetError):
                    break  # the server answered early (a refusal): read its answer below
                sent += len(block)
                progress.update(sent)
        progress.update(sent, final=True)
        response = conn.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        return response.status, body
    finally:
        conn.close()


def report(status: int, body: Any, out: IO[str]) -> int:
    if status != 201 or not isinstance(body, dict) or "rows_read" not in body:
        detail = body.get("detail") if isinstance(body, dict) else body
        out.write(f"refused ({status}): {json.dumps(detail) if not isinstance(detail, str) else detail}\n")
        return 1
    out.write(
        f"import {body['id']} {body['status']}: {body['rows_read']:,} rows read, {body['rows_written']:,} written, "
        f"{body['rows_unchanged']:,} unchanged, {body['rows_rejected']:,} rejected\n"
    )
    for r in body["rejections"][:20]:
        column = f" {r['field']}" if r.get("field") else ""
        out.write(f"  line {r['line']}{column}: {r['reason']}\n")
    if body["rows_rejected"] > 20:
        out.write(f"  ... (GET /api/metering/series/{body['series_id']}/imports/{body['id']} lists up to 1,000)\n")
    if body.get("error"):
        out.write(f"  error: {body['error']}\n")
    return 0 if body["status"] == "completed" else 1


def main(argv: list[str] | None = None, out: IO[str] = sys.stderr) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m metering_service.import_cli", description="Upload a CSV file of readings into a series."
    )
    parser.add_argument("file", help="CSV file: header time,value[,quality][,unit], one reading per line")
    parser.add_argument("--series", type=int, required=True, help="id of the series")
    parser.add_argument("--gateway", default=os.environ.get("GRIDCOMMONS_GATEWAY", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("GRIDCOMMONS_TOKEN"), help="bearer token (admin/operator)")
    parser.add_argument("--company", default=os.environ.get("GRIDCOMMONS_COMPANY"), help="CompanyID header")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or GRIDCOMMONS_TOKEN) is required")
    if not os.path.isfile(args.file):
        parser.error(f"no such file: {args.file}")
    try:
        status, body = upload(args.file, args.series, args.gateway, args.token, args.company, out)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        out.write(f"upload failed: {exc}\n")
        return 1
    return report(status, body, out)


if __name__ == "__main__":
    sys.exit(main())
