"""Rules of notifications: settings (defaults filled in, the webhook secret kept or required), and what
one failure event becomes: an e-mail delivery to the community's recipients (or the default ones) and a
webhook delivery when the community has a webhook."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import Conflict, NotFound, ValidationFailed
from gridcommons.events import CloudEvent
from gridcommons.pagination import Page

from ..failures.events import FailureV1
from ..settings import MonitoringSettings
from . import messages, repository
from .addresses import zone
from .repository import SettingsRow
from .schemas import Delivery, DeliveryState, NotificationSettings, NotificationSettingsUpdate, Webhook

NO_COMMUNITY = "No such community"
NO_DELIVERY = "No such delivery"


def _view(settings: MonitoringSettings, community: str, row: SettingsRow | None) -> NotificationSettings:
    notify_to = None if row is None else row.notify_to
    time_zone = None if row is None else row.time_zone
    return NotificationSettings(
        community_id=community,
        notify_to=notify_to,
        time_zone=time_zone,
        webhook=None if row is None or row.webhook_url is None else Webhook(url=row.webhook_url),
        recipients=list(settings.default_notify_to) if notify_to is None else notify_to,
        effective_time_zone=time_zone or settings.notify_time_zone,
        updated_at=None if row is None else row.updated_at,
    )


async def _known(session: AsyncSession, company_id: int, community: str) -> None:
    if not await repository.community_exists(session, company_id, community):
        raise NotFound(NO_COMMUNITY)


async def get_settings(
    session: AsyncSession, settings: MonitoringSettings, company_id: int, community: str
) -> NotificationSettings:
    await _known(session, company_id, community)
    return _view(settings, community, await repository.get_settings(session, company_id, community))


async def list_settings(
    session: AsyncSession, settings: MonitoringSettings, company_id: int, page: Page
) -> list[NotificationSettings]:
    rows = await repository.list_settings(session, company_id, page)
    return [_view(settings, r.community_code, r) for r in rows]


async def put_settings(
    session: AsyncSession,
    settings: MonitoringSettings,
    company_id: int,
    community: str,
    body: NotificationSettingsUpdate,
) -> NotificationSettings:
    await _known(session, company_id, community)
    url = secret = None
    if body.webhook is not None:
        url, secret = body.webhook.url, body.webhook.secret
        if secret is None:
            current = await repository.get_settings(session, company_id, community, lock=True)
            secret = None if current is None else current.webhook_secret
            if secret is None:
                raise ValidationFailed.at(
                    ["body", "webhook", "secret"], "a secret is required: the community has no webhook secret yet"
                )
    notify_to = None if body.notify_to is None else list(dict.fromkeys(body.notify_to))  # once each, in order
    row = await repository.put_settings(session, company_id, community, notify_to, body.time_zone, url, secret)
    return _view(settings, community, row)


async def delete_settings(session: AsyncSession, company_id: int, community: str) -> None:
    await _known(session, company_id, community)
    await repository.delete_settings(session, company_id, community)


def _delivery(r: dict[str, Any]) -> Delivery:
    return Delivery(
        id=r["id"],
        event_id=r["event_id"],
        event_type=r["event_type"],
        failure_id=r["failure_id"],
        community_id=r["community_code"],
        channel=r["channel"],
        state=r["state"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"] if r["state"] == "pending" else None,
        created_at=r["created_at"],
        delivered_at=r["delivered_at"],
        last_error=r["last_error"],
        recipients=r["recipients"],
    )


async def list_deliveries(
    session: AsyncSession, company_id: int, community: str, state: DeliveryState | None, page: Page
) -> list[Delivery]:
    await _known(session, company_id, community)
    rows = await repository.list_deliveries(
        session, company_id, community, None if state is None else state.value, page
    )
    return [_delivery(r) for r in rows]


async def retry_delivery(session: AsyncSession, company_id: int, community: str, delivery_id: int) -> Delivery:
    """A dead or cancelled delivery tried again (the operator fixed the relay, the endpoint or the webhook)."""
    await _known(session, company_id, community)
    row = await repository.retry_delivery(session, company_id, community, delivery_id)
    if row is None:
        if await repository.find_delivery(session, company_id, community, delivery_id) is None:
            raise NotFound(NO_DELIVERY)
        raise Conflict("only a dead or cancelled delivery can be retried")
    return _delivery(row)


# ----------------------------------------------------------------------------- from an event
async def record_event(
    session: AsyncSession, settings: MonitoringSettings, company_id: int, event: CloudEvent, failure: FailureV1
) -> int:
    """The deliveries of one failure event, written in the consumer's transaction: the e-mail rendered
    now (recipients, time zone), the webhook body; how many were new."""
    row = await repository.get_settings(session, company_id, failure.community_id)
    recipients = list(settings.default_notify_to) if row is None or row.notify_to is None else row.notify_to
    time_zone = (row.time_zone if row is not None else None) or settings.notify_time_zone
    common: dict[str, Any] = {
        "company_id": company_id,
        "event_id": event.id,
        "event_type": event.type,
        "failure_id": failure.failure_id,
        "community_code": failure.community_id,
    }
    rows: list[dict[str, Any]] = []
    if recipients:
        rows.append(
            {
                **common,
                "channel": "email",
                "recipients": recipients,
                "subject": messages.subject(failure),
                "message_id": messages.message_id(event.id, settings.notify_from),
                "body": messages.body(failure, zone(time_zone)),
            }
        )
    if row is not None and row.webhook_url is not None:
        body = messages.webhook_body(event.id, event.type, event.time, company_id, failure)
        rows.append(
            {
                **common,
                "channel": "webhook",
                "recipients": None,
                "subject": None,
                "message_id": None,
                "body": body.decode(),
            }
        )
    return await repository.record_deliveries(session, rows)
