"""Notifications of failures end to end: a monitoring.failure.v1 event written through the service's outbox,
published by the relay on the real broker, consumed by the notifier, delivered by the dispatcher to a real
SMTP server (aiosmtpd) and a real webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from conftest import DEFAULT_TO, MAX_ATTEMPTS, SENDER
from fastapi import FastAPI
from notify_helpers import (
    CLUSTER,
    COMMUNITY,
    MailBox,
    WebhookServer,
    eventually,
    failure,
    publish_failure,
    register,
)

from gridcommons.testing.kafka import produce
from gridcommons.testing.plugin import Stack
from monitoring_service.failures.events import TOPIC
from monitoring_service.notifications import messages

BASE = "/api/monitoring/notification-settings"
SECRET = "whsec-0123456789abcdef"


async def _db(stack: Stack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))


async def _deliveries(stack: Stack, event_id: str) -> list[dict[str, Any]]:
    conn = await _db(stack)
    try:
        rows = await conn.fetch(
            "SELECT * FROM monitoring.notification_deliveries WHERE event_id = $1 ORDER BY channel", event_id
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def _settings(
    client: httpx.AsyncClient, headers: dict[str, str], community: str = COMMUNITY, **body: Any
) -> None:
    r = await client.put(f"{BASE}/{community}", json=body, headers=headers)
    assert r.status_code == 200, r.text


async def test_mail_content_and_default_recipients(notify_app: FastAPI, mailbox: MailBox, company_id: int) -> None:
    await register(notify_app, company_id)
    data = failure(description="There seems to be a problem.\n\n[2026-12-01 17:00:00+09:00] boom")
    event = await publish_failure(notify_app, company_id, data)
    [mail] = await eventually(lambda: _async(mailbox.for_event(event.id)), what="the mail")
    assert mail.mail_from == SENDER and mail.rcpt_tos == DEFAULT_TO
    m = mail.message
    assert m["Subject"] == "[apis_main_alive] failure detected : oss_community > oss_cluster > apis-main > E001"
    assert (m["From"], m["To"]) == (SENDER, ", ".join(DEFAULT_TO))
    assert m["Message-ID"].strip() == f"<{event.id}.failure@gridcommons.example.com>"
    assert m["Auto-Submitted"] == "auto-generated"
    assert mail.text() == (
        "failure detected\n"
        "\n"
        "type: apis_main_alive\n"
        "communityId : oss_community\n"
        "clusterId: oss_cluster\n"
        "programId: apis-main\n"
        "unitId: E001\n"
        "detected: 2026-12-01 08:00:00+00:00\n"
        "\n"
        "There seems to be a problem.\n"
        "\n"
        "[2026-12-01 17:00:00+09:00] boom\n"
    )


async def _async(value: Any) -> Any:
    return value


@pytest.mark.parametrize(
    ("detected", "closed", "detected_text", "closed_text"),
    [
        # spring forward in Paris: 02:00 -> 03:00 local
        ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z", "2026-03-29 01:30:00+01:00", "2026-03-29 03:30:00+02:00"),
        # fall back: 03:00 -> 02:00 local, the same wall time twice
        ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-25 02:30:00+02:00", "2026-10-25 02:30:00+01:00"),
    ],
)
async def test_closed_mail_in_the_community_time_zone_on_dst_days(
    notify_app: FastAPI,
    notify_client: httpx.AsyncClient,
    internal_headers,
    mailbox: MailBox,
    company_id: int,
    detected: str,
    closed: str,
    detected_text: str,
    closed_text: str,
) -> None:
    """A cluster failure (no program, no unit) closed by the job's OK, then one closed because its job was
    deactivated (the reason line); several recipients of the community's own list."""
    await register(notify_app, company_id)
    to = ["ops@example.com", "oncall@example.org"]
    await _settings(notify_client, internal_headers(company_id, "operator"), notifyTo=to, timeZone="Europe/Paris")
    base = {"type": "grid_master_alive", "program_id": None, "unit_id": None, "detected": detected, "closed": closed}
    ok = await publish_failure(
        notify_app,
        company_id,
        failure(status="closed", close_reason="ok", description="The GridMaster service may not be running.", **base),
    )
    deactivated = await publish_failure(
        notify_app, company_id, failure(status="closed", close_reason="job deactivated", description="x", **base)
    )
    [mail] = await eventually(lambda: _async(mailbox.for_event(ok.id)), what="the mail")
    assert mail.rcpt_tos == to and mail.message["To"] == "ops@example.com, oncall@example.org"
    assert mail.message["Subject"] == "[grid_master_alive] failure closed : oss_community > oss_cluster"
    assert mail.text() == (
        "failure closed\n\ntype: grid_master_alive\ncommunityId : oss_community\nclusterId: oss_cluster\n"
        f"detected: {detected_text}\nclosed: {closed_text}\n\nThe GridMaster service may not be running.\n"
    )
    [mail] = await eventually(lambda: _async(mailbox.for_event(deactivated.id)), what="the second mail")
    assert mail.text().endswith(f"closed: {closed_text}\nreason: job deactivated\n\nx\n")


async def test_no_mail_for_an_empty_list_and_other_communities_keep_the_default(
    notify_app: FastAPI,
    notify_client: httpx.AsyncClient,
    internal_headers,
    mailbox: MailBox,
    stack: Stack,
    company_id: int,
) -> None:
    await register(notify_app, company_id)
    await register(notify_app, company_id, community="quiet")
    await _settings(notify_client, internal_headers(company_id, "operator"), "quiet", notifyTo=[])
    silent = await publish_failure(notify_app, company_id, failure(community="quiet"))
    loud = await publish_failure(notify_app, company_id, failure())
    [mail] = await eventually(lambda: _async(mailbox.for_event(loud.id)), what="the mail")
    assert mail.rcpt_tos == DEFAULT_TO
    assert mailbox.for_event(silent.id) == [] and await _deliveries(stack, silent.id) == []  # consumed before loud


async def test_an_smtp_outage_delays_the_mail_and_loses_nothing(
    notify_app: FastAPI, mailbox: MailBox, stack: Stack, company_id: int
) -> None:
    await register(notify_app, company_id)
    mailbox.stop()
    try:
        event = await publish_failure(notify_app, company_id, failure())

        async def failed_twice() -> dict[str, Any] | None:
            rows = await _deliveries(stack, event.id)
            return rows[0] if rows and rows[0]["attempts"] >= 2 and rows[0]["last_error"] else None

        row = await eventually(failed_twice, what="two failed attempts")
        assert row["state"] == "pending" and "Connect" in row["last_error"], row
    finally:
        mailbox.start()
    [mail] = await eventually(lambda: _async(mailbox.for_event(event.id)), what="the mail after the outage")
    assert mail.message["Message-ID"].strip() == f"<{event.id}.failure@gridcommons.example.com>"
    [row] = await eventually(lambda: _async_rows(stack, event.id, "delivered"), what="the delivery marked delivered")
    # an attempt is counted when claimed: the second one may already have been under way (and been the one
    # that succeeded) when the server came back, so at least one failure and one success
    assert row["attempts"] >= 2 and row["delivered_at"] is not None
    await asyncio.sleep(1.0)  # longer than any retry delay: nothing more comes
    assert len(mailbox.for_event(event.id)) == 1


async def _async_rows(stack: Stack, event_id: str, state: str) -> list[dict[str, Any]] | None:
    rows = await _deliveries(stack, event_id)
    return rows if rows and all(r["state"] == state for r in rows) else None


async def test_a_redelivered_event_sends_no_second_mail(
    notify_app: FastAPI, mailbox: MailBox, stack: Stack, company_id: int
) -> None:
    """The same event again (as after a consumer restart before its offset commit), and again once its
    dedup entry is gone: one delivery row per (event, channel), one mail. A claim whose sender died
    (its lease ran out) sends again with the same Message-ID."""
    await register(notify_app, company_id)
    data = failure()
    event = await publish_failure(notify_app, company_id, data)
    await eventually(lambda: _async_rows(stack, event.id, "delivered"), what="the first delivery")
    again = (str(data.failure_id).encode(), event.model_dump_json().encode(), event.id)
    await produce(TOPIC, [again])
    conn = await _db(stack)
    try:
        await conn.execute(
            "DELETE FROM monitoring.processed_events WHERE consumer = 'monitoring-service.notifier' AND event_id = $1",
            event.id,
        )
        await produce(TOPIC, [again])
        # a later event of the same failure (same key: same partition, consumed after the copies)
        after = await publish_failure(
            notify_app,
            company_id,
            failure(data.failure_id, status="closed", closed=datetime.now(UTC), close_reason="ok"),
        )
        await eventually(lambda: _async(mailbox.for_event(after.id)), what="the later mail")
        assert len(mailbox.for_event(event.id)) == 1
        assert len(await _deliveries(stack, event.id)) == 1
        # the sender died after sending, before marking: the lease ends, the mail goes again, recognisable
        await conn.execute(
            "UPDATE monitoring.notification_deliveries SET state = 'pending', next_attempt_at = now() WHERE event_id = $1",
            event.id,
        )
    finally:
        await conn.close()
    first, second = await eventually(
        lambda: _async(mailbox.for_event(event.id) if len(mailbox.for_event(event.id)) == 2 else None),
        what="the copy",
    )
    assert first.message["Message-ID"] == second.message["Message-ID"]


async def test_signed_webhook_retried_with_backoff(
    notify_app: FastAPI,
    notify_client: httpx.AsyncClient,
    internal_headers,
    webhooks: tuple[WebhookServer, str],
    mailbox: MailBox,
    stack: Stack,
    company_id: int,
) -> None:
    server, url = webhooks
    name = f"c{company_id}"
    server.statuses[name] = [503, 500]
    await register(notify_app, company_id)
    await _settings(
        notify_client,
        internal_headers(company_id, "operator"),
        notifyTo=["hooked@example.com"],
        webhook={"url": f"{url}/hook/{name}", "secret": SECRET},
    )
    data = failure()
    event = await publish_failure(notify_app, company_id, data)
    hooks = await eventually(
        lambda: _async(server.received.get(name) if len(server.received.get(name, [])) >= 3 else None),
        what="three webhook attempts",
    )
    await eventually(lambda: _async_rows(stack, event.id, "delivered"), what="both channels delivered")
    assert len(server.received[name]) == 3
    for hook in hooks:
        assert hook.body == hooks[0].body  # the same document on every attempt
        assert hook.headers["content-type"] == "application/json"
        assert hook.headers["x-gridcommons-event-id"] == event.id
        assert hook.headers["x-gridcommons-event-type"] == "org.gridcommons.monitoring.failure.detected"
        ts, sig = hook.headers["x-gridcommons-timestamp"], hook.headers["x-gridcommons-signature"]
        assert messages.verify(SECRET, ts, sig, hook.body, now=time.time(), tolerance=300)
        assert not messages.verify("another-secret-0123", ts, sig, hook.body, now=time.time(), tolerance=300)
        assert not messages.verify(SECRET, ts, sig, hook.body + b" ", now=time.time(), tolerance=300)
        assert not messages.verify(SECRET, str(int(ts) + 1), sig, hook.body, now=time.time(), tolerance=300)
        assert not messages.verify(SECRET, ts, sig, hook.body, now=time.time() + 301, tolerance=300)  # a replay, later
    # exponential back-off: at least 0.2 s, then 0.4 s between attempts (lower bounds only: load only delays)
    assert hooks[1].received - hooks[0].received >= 0.2 and hooks[2].received - hooks[1].received >= 0.4
    document = orjson.loads(hooks[0].body)
    assert document == {
        "eventId": event.id,
        "eventType": "org.gridcommons.monitoring.failure.detected",
        "eventTime": document["eventTime"],
        "companyId": company_id,
        "data": data.model_dump(mode="json"),
    }
    assert document["eventTime"].endswith("Z")
    rows = {r["channel"]: r for r in await _deliveries(stack, event.id)}
    assert (rows["webhook"]["attempts"], rows["email"]["attempts"]) == (3, 1)
    assert rows["webhook"]["last_error"] is None
    assert len(mailbox.for_event(event.id)) == 1


async def test_a_webhook_that_never_answers_2xx_ends_dead_and_a_removed_one_is_cancelled(
    notify_app: FastAPI,
    notify_client: httpx.AsyncClient,
    internal_headers,
    webhooks: tuple[WebhookServer, str],
    stack: Stack,
    company_id: int,
) -> None:
    server, url = webhooks
    name = f"dead{company_id}"
    server.statuses[name] = [500] * 100
    await register(notify_app, company_id)
    h = internal_headers(company_id, "operator")
    await _settings(notify_client, h, notifyTo=[], webhook={"url": f"{url}/hook/{name}", "secret": SECRET})
    event = await publish_failure(notify_app, company_id, failure())
    [row] = await eventually(lambda: _async_rows(stack, event.id, "dead"), timeout=60, what="the dead delivery")
    assert row["attempts"] == MAX_ATTEMPTS and "answered 500" in row["last_error"]
    assert len(server.received[name]) == MAX_ATTEMPTS
    listed = (
        await notify_client.get(
            f"/api/monitoring/notification-deliveries/{COMMUNITY}", params={"state": "dead"}, headers=h
        )
    ).json()
    assert [(d["eventId"], d["channel"], d["attempts"], d["nextAttemptAt"]) for d in listed] == [
        (event.id, "webhook", MAX_ATTEMPTS, None)
    ]

    # the endpoint fixed, the operator retries the dead delivery: pending again, sent at once
    server.statuses[name] = []
    retry = f"/api/monitoring/notification-deliveries/{COMMUNITY}/{row['id']}/retry"
    r = await notify_client.post(retry, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["attempts"]) == ("pending", 0)
    [row] = await eventually(lambda: _async_rows(stack, event.id, "delivered"), what="the retried delivery")
    assert row["attempts"] == 1 and len(server.received[name]) == MAX_ATTEMPTS + 1
    r = await notify_client.post(retry, headers=h)
    assert (r.status_code, r.json()) == (409, {"detail": "only a dead or cancelled delivery can be retried"})
    missing = f"/api/monitoring/notification-deliveries/{COMMUNITY}/{row['id'] + 10_000_000}/retry"
    assert (await notify_client.post(missing, headers=h)).json() == {"detail": "No such delivery"}
    other = internal_headers(company_id + 700_000, "operator")
    await register(notify_app, company_id + 700_000)  # the same community code in another company
    assert (await notify_client.post(retry, headers=other)).status_code == 404
    assert (await notify_client.post(retry, headers=internal_headers(company_id, "member"))).status_code == 403

    # a webhook removed while its delivery waits: cancelled, not sent
    server.statuses[name] = [500]
    second = await publish_failure(notify_app, company_id, failure(cluster=CLUSTER))
    await eventually(lambda: _async(len(server.received[name]) > MAX_ATTEMPTS + 1), what="the first attempt")
    await _settings(notify_client, h, notifyTo=[])
    [row] = await eventually(lambda: _async_rows(stack, second.id, "cancelled"), what="the cancelled delivery")
    assert row["last_error"] == "the community's webhook was removed"


async def test_two_dispatchers_send_each_mail_once(
    notify_app: FastAPI, mailbox: MailBox, stack: Stack, company_id: int
) -> None:
    """A second replica's dispatcher beside the app's: claims skip each other's rows, so 40 failures make
    40 mails, none twice."""
    from monitoring_service.notifications.dispatcher import NotificationDispatcher

    await register(notify_app, company_id)
    second = NotificationDispatcher(notify_app.state.settings, notify_app.state.engine)
    stop = asyncio.Event()
    task = asyncio.create_task(second.run(stop))
    try:
        sent = await asyncio.gather(*(publish_failure(notify_app, company_id, failure()) for _ in range(40)))
        for event in sent:
            await eventually(lambda e=event: _async_rows(stack, e.id, "delivered"), what="every delivery")
    finally:
        stop.set()
        await task
    assert sorted(len(mailbox.for_event(e.id)) for e in sent) == [1] * 40


async def test_an_invalid_event_goes_to_the_dead_letter_topic(notify_app: FastAPI, company_id: int) -> None:
    from gridcommons.events import CloudEvent
    from gridcommons.testing.kafka import topic_reader

    bad = CloudEvent(
        source="/services/monitoring-service",
        type="org.gridcommons.monitoring.failure.detected",
        companyid=str(company_id),
        data={"failure_id": "not a number"},
    )
    await produce(TOPIC, [(b"1", bad.model_dump_json().encode(), bad.id)])
    reader = topic_reader(f"{TOPIC}.dlq")
    await reader.start()
    try:

        async def dead_lettered() -> dict[str, bytes] | None:
            for records in (await reader.getmany(timeout_ms=200)).values():
                for record in records:
                    headers = dict(record.headers or ())
                    if headers.get("ce_id") == bad.id.encode():
                        return headers
            return None

        headers = await eventually(dead_lettered, what="the dead letter")
    finally:
        await reader.stop()
    assert headers["dlq_consumer"] == b"monitoring-service.notifier"
    assert headers["dlq_error"].startswith(
        b"PoisonMessage: invalid org.gridcommons.monitoring.failure.detected payload"
    )
