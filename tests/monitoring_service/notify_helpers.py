"""Helpers of the notification tests: a real SMTP server on loopback (aiosmtpd) that can be stopped and
started again on its port, a real HTTP server receiving webhooks, a community in the service's registry
replica, and failure events written through the service's outbox as the failure code writes them."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from gridcommons.community import CLUSTER_CHANGED, COMMUNITY_CHANGED, ClusterV1, CommunityV1
from gridcommons.db import unit_of_work
from gridcommons.events import CloudEvent
from monitoring_service.db import community_replica, outbox
from monitoring_service.failures.events import CLOSED, DETECTED, TOPIC, FailureV1

T = TypeVar("T")
_ids = itertools.count(1)
COMMUNITY = "oss_community"
CLUSTER = "oss_cluster"


# ----------------------------------------------------------------------------- SMTP
@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        """The body as written (SMTP carries CRLF line ends)."""
        return str(self.message.get_content()).replace("\r\n", "\n")


class _Handler:
    def __init__(self, box: MailBox):
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.box.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class MailBox:
    """A real SMTP server (aiosmtpd, its own thread) on 127.0.0.1:``port``; ``stop``/``start`` make an outage."""

    def __init__(self, port: int):
        self.port = port
        self.mails: list[Mail] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def for_event(self, event_id: str) -> list[Mail]:
        return [m for m in self.mails if m.message["X-GridCommons-Event-Id"] == event_id]


# ----------------------------------------------------------------------------- webhooks
@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes
    received: float  # monotonic


@dataclass
class WebhookServer:
    """A FastAPI app served by the tests: records each POST to ``/hook/<name>`` and answers the next status
    queued for that name (200 when none)."""

    received: dict[str, list[Hook]] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook/{name}")
        async def hook(name: str, request: Request) -> Response:
            self.received.setdefault(name, []).append(
                Hook({k.lower(): v for k, v in request.headers.items()}, await request.body(), time.monotonic())
            )
            queue = self.statuses.get(name)
            status = queue.pop(0) if queue else 200
            return Response(status_code=status, content=b"{}" if status < 300 else b"nope")

        return app


# ----------------------------------------------------------------------------- registry, events
def _registry_event(kind: str, company_id: int, data: Any) -> CloudEvent:
    return CloudEvent(
        source="/services/community-service", type=kind, companyid=str(company_id), data=data.model_dump(mode="json")
    )


async def register(app: FastAPI, company_id: int, community: str = COMMUNITY, cluster: str = CLUSTER) -> None:
    """A community with one cluster in the service's replica of the registry."""
    base = company_id * 100 + next(_ids) * 10
    events = [
        _registry_event(
            COMMUNITY_CHANGED, company_id, CommunityV1(id=base + 1, code=community, name=community, version=1)
        ),
        _registry_event(
            CLUSTER_CHANGED,
            company_id,
            ClusterV1(
                id=base + 2, code=cluster, name=cluster, version=1, community_id=base + 1, community_code=community
            ),
        ),
    ]
    async with unit_of_work(app.state.sessionmaker) as session:
        for event in events:
            await community_replica.apply_event(session, event)


def failure(
    failure_id: int | None = None,
    *,
    community: str = COMMUNITY,
    cluster: str = CLUSTER,
    status: str = "detected",
    **fields: Any,
) -> FailureV1:
    """A failure of apis_main_alive on unit E001 (detected 2026-12-01T08:00:00Z), or as ``fields`` say."""
    values: dict[str, Any] = {
        "failure_id": failure_id if failure_id is not None else next(_ids) + 1_000_000,
        "status": status,
        "type": "apis_main_alive",
        "community_id": community,
        "cluster_id": cluster,
        "program_id": "apis-main",
        "unit_id": "E001",
        "detected": datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        "closed": None,
        "close_reason": None,
        "description": "The program may not be running.",
    }
    values.update(fields)
    return FailureV1.model_validate(values)


async def publish_failure(app: FastAPI, company_id: int, data: FailureV1) -> CloudEvent:
    """The event the failure code writes when it opens or closes a failure, through the service's outbox."""
    async with unit_of_work(app.state.sessionmaker) as session:
        return await outbox.publish(
            session,
            topic=TOPIC,
            type=DETECTED if data.status == "detected" else CLOSED,
            subject=str(data.failure_id),
            key=str(data.failure_id),
            data=data,
            company_id=company_id,
        )


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 30.0, what: str = "") -> T:
    """``check()`` until it returns something truthy (returned); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)
