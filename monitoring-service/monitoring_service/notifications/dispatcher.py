"""The dispatcher: sends the recorded deliveries (e-mail over SMTP with aiosmtplib, webhooks with httpx)
and records each outcome. Run as a worker in every replica: claims skip rows another replica holds.

Each round claims the due pending deliveries (``repository.claim_due``: attempt counted, next attempt
pushed ``MONITORING_NOTIFY_CLAIM_SECONDS`` ahead as a lease), sends them concurrently outside any
transaction, then marks each delivered, due again after a back-off (attempt n failed: min(base * 2^(n-1),
max) seconds), or dead after ``MONITORING_NOTIFY_MAX_ATTEMPTS``. It wakes on every recorded delivery
(LISTEN) and looks for due retries every ``MONITORING_NOTIFY_POLL_SECONDS``.

A sender that dies between sending and marking leaves the delivery claimed; it is sent again when the
lease ends (at least once). The e-mail keeps its Message-ID (derived from the event id) and the webhook
its ``X-GridCommons-Event-Id``, so the second copy is recognisable as the same notification.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridcommons.db import listen, make_sessionmaker, unit_of_work
from gridcommons.timeutil import utcnow

from ..settings import MonitoringSettings
from . import messages, repository

log = logging.getLogger("monitoring_service.notifications")


class DeliveryFailed(Exception):
    """This attempt failed; the text says why (kept in ``last_error``)."""


class Cancelled(Exception):
    """The delivery can no longer be made (its webhook was removed)."""


def retry_delay(settings: MonitoringSettings, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones (exponential, capped)."""
    return float(min(settings.notify_retry_base_seconds * 2 ** (attempts - 1), settings.notify_retry_max_seconds))


def email_message(settings: MonitoringSettings, delivery: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.notify_from
    msg["To"] = ", ".join(delivery["recipients"])
    msg["Subject"] = delivery["subject"]
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = delivery["message_id"]
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a machine
    msg[messages.EVENT_ID_HEADER] = delivery["event_id"]
    msg.set_content(delivery["body"])
    return msg


class NotificationDispatcher:
    def __init__(self, settings: MonitoringSettings, engine: AsyncEngine):
        self.settings = settings
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.name = "notification-dispatcher"
        self._wake = asyncio.Event()
        self._last_round: float | None = None

    def health(self) -> dict[str, Any]:
        age = None if self._last_round is None else round(time.monotonic() - self._last_round, 3)
        stale_after = max(30.0, 3 * self.settings.notify_poll_seconds)
        return {"ready": age is not None and age <= stale_after, "last_round_seconds_ago": age}

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(
            listen(
                self.settings.infra.database_url,
                repository.CHANNEL,
                lambda _payload: self._wake.set(),
                stop,
                name=self.name,
                on_connected=self._wake.set,
            )
        )
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        backoff = 0.2
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                while not stop.is_set():
                    self._wake.clear()  # before reading: a NOTIFY during the round wakes the next one
                    try:
                        claimed = await self.round(client)
                        self._last_round = time.monotonic()
                        backoff = 0.2
                    except Exception as exc:  # the database away: try again soon
                        log.warning("%s: round failed (%s: %s)", self.name, exc.__class__.__name__, exc)
                        await self._sleep(stop, backoff, wake=False)
                        backoff = min(backoff * 2, 5.0)
                        continue
                    if claimed < self.settings.notify_batch_size:
                        await self._sleep(stop, self.settings.notify_poll_seconds, wake=True)
        finally:
            listener.cancel()
            await asyncio.wait([listener], timeout=2)

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wake: bool) -> None:
        waits = [asyncio.ensure_future(stop.wait())]
        if wake:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def round(self, client: httpx.AsyncClient) -> int:
        """Claim, send and mark one batch; how many were claimed."""
        async with unit_of_work(self.sessionmaker) as session:
            claimed = await repository.claim_due(
                session, self.settings.notify_batch_size, self.settings.notify_claim_seconds
            )
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(client, d) for d in claimed))
        async with unit_of_work(self.sessionmaker) as session:  # every outcome of the batch in one transaction
            for delivery, (state, text) in zip(claimed, outcomes, strict=True):
                await self._mark(session, delivery, state, text)
        return len(claimed)

    async def _attempt(self, client: httpx.AsyncClient, delivery: dict[str, Any]) -> tuple[str, str | None]:
        """Send one delivery: ("delivered", a note), ("cancelled", why) or ("failed", why)."""
        try:
            if delivery["channel"] == "email":
                return "delivered", await self._send_email(delivery)
            await self._post_webhook(client, delivery)
            return "delivered", None
        except Cancelled as exc:
            return "cancelled", str(exc)
        except Exception as exc:  # every failure of an attempt is retried, up to the limit
            return "failed", _describe(exc)

    async def _mark(self, session: AsyncSession, delivery: dict[str, Any], state: str, text: str | None) -> None:
        attempts = delivery["attempts"]
        if state == "delivered":
            await repository.mark_delivered(session, delivery["id"], attempts, text)
        elif state == "cancelled":
            await repository.mark_failed(session, delivery["id"], attempts, text or "", None, state="cancelled")
        else:
            last = attempts >= self.settings.notify_max_attempts
            delay = None if last else retry_delay(self.settings, attempts)
            await repository.mark_failed(session, delivery["id"], attempts, text or "", delay)
            log.warning(
                "%s: %s delivery %s of event %s failed (attempt %d%s): %s",
                self.name,
                delivery["channel"],
                delivery["id"],
                delivery["event_id"],
                attempts,
                ", given up" if last else f", next in {delay:.1f}s",
                text,
            )

    async def _send_email(self, delivery: dict[str, Any]) -> str | None:
        s = self.settings
        errors, _ = await aiosmtplib.send(
            email_message(s, delivery),
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_secret(),
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
        )
        if errors:  # accepted for some recipients: delivered, the refusals noted
            return "refused: " + "; ".join(f"{rcpt} ({resp.code} {resp.message})" for rcpt, resp in errors.items())
        return None

    async def _post_webhook(self, client: httpx.AsyncClient, delivery: dict[str, Any]) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            current = await repository.get_settings(session, delivery["company_id"], delivery["community_code"])
        if current is None or current.webhook_url is None or current.webhook_secret is None:
            raise Cancelled("the community's webhook was removed")
        payload = delivery["body"].encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            messages.EVENT_ID_HEADER: delivery["event_id"],
            messages.EVENT_TYPE_HEADER: delivery["event_type"],
            messages.TIMESTAMP_HEADER: str(timestamp),
            messages.SIGNATURE_HEADER: messages.signature(current.webhook_secret, timestamp, payload),
            "User-Agent": "GridCommons-monitoring/1",
        }
        response = await client.post(current.webhook_url, content=payload, headers=headers)
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"{current.webhook_url} answered {response.status_code}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return f"{exc.__class__.__name__}: {text}"
