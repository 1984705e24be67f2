"""Wire shapes of notification settings and deliveries (camelCase, as seed 004's API)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gridcommons.describe import explained_enum
from gridcommons.wire import WireModel

from .addresses import ADDRESS_MAX, check_address, check_time_zone

_CAMEL = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True)
MAX_RECIPIENTS = 50
URL_MAX = 2048
SECRET_MIN, SECRET_MAX = 16, 256


def _url(value: str) -> str:
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValueError("not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (the signature authenticates the sender)")
    if parts.fragment:
        raise ValueError("must not have a fragment")
    return value


EmailAddress = Annotated[
    str,
    Field(
        min_length=3, max_length=ADDRESS_MAX, examples=["operations@example.com"], json_schema_extra={"format": "email"}
    ),
    AfterValidator(check_address),
]
TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Europe/Paris"]),
    AfterValidator(check_time_zone),
]
WebhookUrl = Annotated[
    str,
    Field(min_length=8, max_length=URL_MAX, examples=["https://hooks.example.com/gridcommons"]),
    AfterValidator(_url),
]


class WebhookUpdate(WireModel):
    """Where failures are POSTed, and the secret that signs them."""

    model_config = _CAMEL

    url: WebhookUrl = Field(description="http(s) URL the failure events are POSTed to (JSON).")
    secret: str | None = Field(
        default=None,
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        description="Key of the HMAC-SHA256 signature (X-GridCommons-Signature), 16 to 256 characters. Never "
        "answered back. Omit it to keep the stored one (refused when the community has none yet).",
        examples=["b7f1c2e94d0a4f3e8a6b5c1d2e3f4a5b"],
    )


class NotificationSettingsUpdate(WireModel):
    """A community's notification settings, replaced as a whole (PUT)."""

    model_config = _CAMEL

    notify_to: list[EmailAddress] | None = Field(
        default=None,
        max_length=MAX_RECIPIENTS,
        description="Recipients of the failure e-mails (at most 50). Omitted or null: the default recipients "
        "(MONITORING_DEFAULT_NOTIFY_TO); an empty list: no e-mail for this community.",
        examples=[["operations@example.com", "oncall@example.com"]],
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="IANA time zone of the e-mails' detected/closed times. Omitted or null: "
        "MONITORING_NOTIFY_TIME_ZONE.",
    )
    webhook: WebhookUpdate | None = Field(
        default=None, description="A webhook to POST every failure event to, signed. Omitted or null: none."
    )


class Webhook(WireModel):
    """A community's webhook (its secret is never answered)."""

    model_config = _CAMEL

    url: str = Field(
        description="http(s) URL the failure events are POSTed to.", examples=["https://hooks.example.com/gridcommons"]
    )


class NotificationSettings(WireModel):
    """A community's notification settings, and what they mean now (defaults filled in)."""

    model_config = _CAMEL

    community_id: str = Field(description="Code of the community.", examples=["oss_community"])
    notify_to: list[str] | None = Field(
        description="The community's own recipients; null: it uses the default recipients.",
        examples=[["operations@example.com"]],
    )
    time_zone: str | None = Field(
        description="The community's own time zone; null: the default.", examples=["Europe/Paris"]
    )
    webhook: Webhook | None = Field(description="The community's webhook, if any.")
    recipients: list[str] = Field(
        description="Who receives the e-mails now: notifyTo, else the default recipients (may be empty: no e-mail).",
        examples=[["operations@example.com"]],
    )
    effective_time_zone: str = Field(
        description="The time zone the e-mails are written in now.", examples=["Europe/Paris"]
    )
    updated_at: datetime | None = Field(
        description="When the settings were last changed (UTC); null: the community has only the defaults.",
        examples=["2026-12-01T08:00:00Z"],
    )


CHANNEL_MEANINGS = {"email": "An e-mail to the recipients", "webhook": "A signed POST to the community's webhook"}
STATE_MEANINGS = {
    "pending": "Not delivered yet: waiting for its next attempt",
    "delivered": "Accepted by the SMTP server, or answered 2xx by the webhook",
    "dead": "Given up after MONITORING_NOTIFY_MAX_ATTEMPTS failed attempts",
    "cancelled": "Not sent: the community's webhook was removed before it could be",
}


@explained_enum(CHANNEL_MEANINGS)
class Channel(StrEnum):
    """How a notification is delivered."""

    email = "email"
    webhook = "webhook"


@explained_enum(STATE_MEANINGS)
class DeliveryState(StrEnum):
    """Where a notification's delivery stands."""

    pending = "pending"
    delivered = "delivered"
    dead = "dead"
    cancelled = "cancelled"


class Delivery(WireModel):
    """One notification of one failure event on one channel, and where its delivery stands."""

    model_config = _CAMEL

    id: int = Field(description="Id of the delivery.", examples=[42])
    event_id: str = Field(
        description="Id of the monitoring.failure.v1 event.", examples=["6f1c0f5e-2c4b-4c53-9d0e-0c1a7b2e9f10"]
    )
    event_type: str = Field(
        description="Type of the event (detected or closed).", examples=["org.gridcommons.monitoring.failure.detected"]
    )
    failure_id: int = Field(description="Id of the failure.", examples=[7])
    community_id: str = Field(description="Code of the failure's community.", examples=["oss_community"])
    channel: Channel = Field(description="How it is delivered.")
    state: DeliveryState = Field(description="Where the delivery stands.")
    attempts: int = Field(description="Attempts made so far.", examples=[1])
    next_attempt_at: datetime | None = Field(
        description="When a pending delivery is tried next (UTC); null once delivered, dead or cancelled.",
        examples=["2026-12-01T08:00:10Z"],
    )
    created_at: datetime = Field(
        description="When the event was recorded for delivery (UTC).", examples=["2026-12-01T08:00:00Z"]
    )
    delivered_at: datetime | None = Field(description="When it was delivered (UTC).", examples=["2026-12-01T08:00:01Z"])
    last_error: str | None = Field(description="Why the last attempt failed (or which recipients the server refused).")
    recipients: list[str] | None = Field(description="The e-mail's recipients; null for a webhook.")
