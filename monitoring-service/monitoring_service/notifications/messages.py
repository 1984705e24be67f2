"""What a notification says: the e-mail's subject and body (the reference system's format), its
Message-ID, and the webhook's JSON body and signature. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, tzinfo
from typing import Any

import orjson

from ..failures.events import FailureV1

SIGNATURE_HEADER = "X-GridCommons-Signature"
TIMESTAMP_HEADER = "X-GridCommons-Timestamp"
EVENT_ID_HEADER = "X-GridCommons-Event-Id"
EVENT_TYPE_HEADER = "X-GridCommons-Event-Type"


def ident(failure: FailureV1) -> str:
    """The failure's codes that are set, outermost first, joined by `` > ``."""
    codes = (failure.community_id, failure.cluster_id, failure.program_id, failure.unit_id)
    return " > ".join(c for c in codes if c)


def subject(failure: FailureV1) -> str:
    return f"[{failure.type}] failure {failure.status} : {ident(failure)}"


def local_time(instant: datetime, zone: tzinfo) -> str:
    """The instant in ``zone`` as Python writes an aware datetime (``2026-03-29 03:30:00+02:00``), as the
    reference system's e-mails do."""
    return str(instant.astimezone(zone))


def body(failure: FailureV1, zone: tzinfo) -> str:
    """The reference's lines (``communityId :`` with its space before the colon included); a closing for
    another reason than the job's OK adds a ``reason:`` line after ``closed:``."""
    lines = [f"failure {failure.status}", "", f"type: {failure.type}"]
    if failure.community_id:
        lines.append(f"communityId : {failure.community_id}")
    if failure.cluster_id:
        lines.append(f"clusterId: {failure.cluster_id}")
    if failure.program_id:
        lines.append(f"programId: {failure.program_id}")
    if failure.unit_id:
        lines.append(f"unitId: {failure.unit_id}")
    lines.append(f"detected: {local_time(failure.detected, zone)}")
    if failure.closed is not None:
        lines.append(f"closed: {local_time(failure.closed, zone)}")
    if failure.close_reason not in (None, "ok"):
        lines.append(f"reason: {failure.close_reason}")
    lines += ["", failure.description]
    return "\n".join(lines)


def message_id(event_id: str, sender: str) -> str:
    """The e-mail's Message-ID: the event id at the sender's domain, the same on every attempt, so that a
    copy sent again after a crash between sending and recording it is recognisable as the same message."""
    return f"<{event_id}.failure@{sender.rsplit('@', 1)[1]}>"


def webhook_body(event_id: str, event_type: str, event_time: datetime, company_id: int, failure: FailureV1) -> bytes:
    """The JSON POSTed to a webhook: the event's id, type and time, the company, and the failure as
    ``monitoring.failure.v1`` carries it."""
    document: dict[str, Any] = {
        "eventId": event_id,
        "eventType": event_type,
        "eventTime": event_time,
        "companyId": company_id,
        "data": failure.model_dump(mode="json"),
    }
    return orjson.dumps(document, option=orjson.OPT_UTC_Z)


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with the community's secret over ``<timestamp>.<body>`` (the timestamp
    inside the signature, so that a captured request cannot be replayed later with a new timestamp)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp_header: str, signature_header: str, payload: bytes, now: float, tolerance: float
) -> bool:
    """What a receiver does (and the tests): the signature matches and the timestamp is recent."""
    if not timestamp_header.isdigit() or abs(now - int(timestamp_header)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp_header), payload), signature_header)
