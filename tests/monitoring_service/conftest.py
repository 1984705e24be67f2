"""monitoring-service tests: the app with its workers in process over the session's real PostgreSQL and
broker (job passes off: tests run them themselves), a real SMTP server on loopback and a real webhook
receiver for its notifications. One app for the session: two would be two notifiers in one consumer
group, each sending what the other's tests wait for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from notify_helpers import MailBox, WebhookServer

from gridcommons.devstack import free_port
from gridcommons.testing.plugin import Stack
from gridcommons.testing.readiness import wait_ready
from gridcommons.testing.servers import serve_app
from monitoring_service.app import create_app
from monitoring_service.settings import MonitoringSettings

DEFAULT_TO = ["default-ops@example.com"]
SENDER = "monitoring@gridcommons.example.com"
MAX_ATTEMPTS = 6


@pytest.fixture(scope="session")
def mailbox() -> Iterator[MailBox]:
    box = MailBox(free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
async def webhooks() -> AsyncIterator[tuple[WebhookServer, str]]:
    server = WebhookServer()
    async with serve_app(server.app()) as url:
        yield server, url


def notify_settings(smtp_port: int) -> MonitoringSettings:
    """Retries in fractions of a second (0.2, 0.4, 0.8, 1, 1 s; dead after 6 attempts), so that tests wait little."""
    return MonitoringSettings(
        jobs_enabled=False,
        default_notify_to=DEFAULT_TO,
        notify_from=SENDER,
        smtp_port=smtp_port,
        smtp_timeout_seconds=5,
        webhook_timeout_seconds=5,
        notify_retry_base_seconds=0.2,
        notify_retry_max_seconds=1.0,
        notify_max_attempts=MAX_ATTEMPTS,
        notify_poll_seconds=0.1,
        notify_claim_seconds=10,
    )


@pytest.fixture(scope="session")
async def monitoring_app(migrated: Stack, mailbox: MailBox) -> AsyncIterator[FastAPI]:
    app = create_app(notify_settings(mailbox.port), run_workers_in_process=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitoring") as client:
            ready = await wait_ready(client)
            assert ready.status_code == 200, ready.text
        yield app


@pytest.fixture(scope="session")
def notify_app(monitoring_app: FastAPI) -> FastAPI:
    return monitoring_app


@pytest.fixture
async def monitoring_client(monitoring_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=monitoring_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitoring-service") as client:
        yield client


@pytest.fixture
def notify_client(monitoring_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return monitoring_client
