"""Seed 004's datetimeFrom/datetimeTo parsing (gridcommons.datetime_window): what is accepted, in UTC, and
the 400 texts naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridcommons.datetime_window import Window, parse_instant, parse_window
from gridcommons.errors import DomainError


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-29T01:30:00Z", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("2026-03-29T03:30:00+02:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("2026-03-29T03:30:00 02:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # "+" decoded to a space
        ("2026-10-25 02:30:00+0100", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
        ("2026-10-25t01:30:00z", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ],
)
def test_instants_with_an_offset_are_read_in_utc(text: str, utc: datetime) -> None:
    assert parse_instant("datetimeFrom", text) == utc


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-03-29T01:30:00", "needs an offset"),
        ("yesterday", "must be an ISO 8601 date-time"),
        ("2026-02-30T00:00:00Z", "is not a valid date-time"),
        ("2026-01-01T00:00:00Z" + "0" * 30, "must be an ISO 8601 date-time"),
        ("0001-01-01T00:00:00Z", "must lie in"),
    ],
)
def test_bad_instants_are_400s_naming_the_parameter(text: str, says: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_instant("datetimeTo", text)
    assert caught.value.status_code == 400
    assert "datetimeTo" in str(caught.value.detail) and says in str(caught.value.detail)


def test_a_window_is_open_on_an_absent_side_and_refuses_to_before_from() -> None:
    assert parse_window(None, "") == Window(None, None)
    assert parse_window("2026-01-01T00:00:00Z", None) == Window(datetime(2026, 1, 1, tzinfo=UTC), None)
    for to in ("2026-01-01T00:00:00Z", "2025-12-31T23:00:00Z"):
        with pytest.raises(DomainError) as caught:
            parse_window("2026-01-01T00:00:00Z", to)
        assert caught.value.status_code == 400
