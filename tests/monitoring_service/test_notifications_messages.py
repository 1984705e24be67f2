"""The pure parts of notifications against straightforward reference computations: the retry schedule,
local times (both DST days), the subject's ident, the Message-ID, the webhook signature; the settings'
formats."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notify_helpers import failure

from monitoring_service.notifications import messages
from monitoring_service.notifications.addresses import check_address
from monitoring_service.notifications.dispatcher import retry_delay
from monitoring_service.settings import MonitoringSettings

ZONES = ["UTC", "Europe/Paris", "Europe/Berlin", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None)
@given(
    base=st.floats(min_value=0.01, max_value=600),
    cap=st.floats(min_value=0.01, max_value=86_400),
    attempts=st.integers(min_value=1, max_value=1000),
)
def test_retry_delay_is_the_capped_doubling(base: float, cap: float, attempts: int) -> None:
    s = MonitoringSettings(notify_retry_base_seconds=base, notify_retry_max_seconds=cap)
    expected = base
    for _ in range(attempts - 1):  # the reference: double attempt by attempt, never above the cap
        expected = min(expected * 2, cap)
    assert retry_delay(s, attempts) == pytest.approx(min(expected, cap))


def test_default_schedule_spans_about_a_day() -> None:
    s = MonitoringSettings()
    delays = [retry_delay(s, n) for n in range(1, s.notify_max_attempts)]
    assert delays[:4] == [10, 20, 40, 80] and max(delays) == 1800
    assert timedelta(hours=20) < timedelta(seconds=sum(delays)) < timedelta(hours=30)


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_local_time_is_the_instant_in_the_zone(instant: datetime, zone: str) -> None:
    # reference: the zone's offset at the instant, the wall time = UTC + offset, written as Python writes it
    offset = ZoneInfo(zone).utcoffset(instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None))
    assert offset is not None
    wall = (instant + offset).replace(tzinfo=None)
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    fraction = f".{wall.microsecond:06d}" if wall.microsecond else ""
    expected = f"{wall:%Y-%m-%d %H:%M:%S}{fraction}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    assert messages.local_time(instant, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("utc", "zone", "local"),
    [
        ("2026-03-29T00:59:59Z", "Europe/Paris", "2026-03-29 01:59:59+01:00"),
        ("2026-03-29T01:00:00Z", "Europe/Paris", "2026-03-29 03:00:00+02:00"),
        ("2026-10-25T00:30:00Z", "Europe/Paris", "2026-10-25 02:30:00+02:00"),
        ("2026-10-25T01:30:00Z", "Europe/Paris", "2026-10-25 02:30:00+01:00"),
        ("2026-03-29T01:00:00.250000Z", "Europe/Berlin", "2026-03-29 03:00:00.250000+02:00"),
        ("2026-10-25T00:00:00Z", "Asia/Tokyo", "2026-10-25 09:00:00+09:00"),
    ],
)
def test_local_time_on_dst_days(utc: str, zone: str, local: str) -> None:
    assert messages.local_time(datetime.fromisoformat(utc), ZoneInfo(zone)) == local


@settings(max_examples=200, deadline=None)
@given(
    program=st.one_of(st.none(), st.sampled_from(["apis-main", "apis-ccc", "apis-log"])),
    unit=st.one_of(st.none(), st.text("E0123456789", min_size=1, max_size=6)),
    status=st.sampled_from(["detected", "closed"]),
)
def test_subject_names_the_codes_that_are_set(program: str | None, unit: str | None, status: str) -> None:
    f = failure(program_id=program, unit_id=unit, status=status, type="apis_ccc_severe")
    codes = [c for c in ("oss_community", "oss_cluster", program, unit) if c]
    assert messages.subject(f) == f"[apis_ccc_severe] failure {status} : " + " > ".join(codes)
    lines = messages.body(f, ZoneInfo("UTC")).split("\n")
    assert lines[:3] == [f"failure {status}", "", "type: apis_ccc_severe"]
    assert ("programId: " + str(program) in lines) == (program is not None)
    assert ("unitId: " + str(unit) in lines) == (unit is not None)


@settings(max_examples=200, deadline=None)
@given(secret=st.text(min_size=16, max_size=64), timestamp=st.integers(0, 2**40), body=st.binary(max_size=2000))
def test_signature_is_hmac_sha256_of_timestamp_dot_body(secret: str, timestamp: int, body: bytes) -> None:
    expected = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    assert messages.signature(secret, timestamp, body) == "sha256=" + expected
    sig = messages.signature(secret, timestamp, body)
    assert messages.verify(secret, str(timestamp), sig, body, now=timestamp + 299, tolerance=300)
    assert not messages.verify(secret, str(timestamp), sig, body, now=timestamp + 301, tolerance=300)


def test_message_id_is_the_event_id_at_the_sender_domain() -> None:
    assert messages.message_id("abc-1", "monitoring@ops.example.com") == "<abc-1.failure@ops.example.com>"


@pytest.mark.parametrize(
    "address",
    ["a@example.com", "first.last+tag@sub.example.co.uk", "x_y-z@a-b.example", "o'brien@example.ie", "root@localhost"],
)
def test_addresses_accepted(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a@-example.com",
        "a@example.c0m",
        "a b@example.com",
        "a@example.com\n",
        "Name <a@example.com>",
        '"quoted"@example.com',
        "é@example.com",
        "a@[127.0.0.1]",
        ("x" * 65) + "@example.com",
        "a@" + ("b" * 250) + ".com",
    ],
)
def test_addresses_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid e-mail address"):
        check_address(address)


def test_settings_refuse_bad_defaults() -> None:
    with pytest.raises(ValueError):
        MonitoringSettings(default_notify_to=["nope"])
    with pytest.raises(ValueError):
        MonitoringSettings(notify_time_zone="Nowhere/Land")
    with pytest.raises(ValueError, match="notify_claim_seconds must exceed"):
        MonitoringSettings(notify_claim_seconds=30, smtp_timeout_seconds=30)
