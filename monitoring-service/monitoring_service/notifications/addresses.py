"""The formats notification settings accept: e-mail addresses an SMTP server takes, IANA time zones."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# A plain ASCII address (RFC 5321 dot-atom local part, a dotted host name with a TLD of letters): what
# every SMTP relay accepts without SMTPUTF8; quoted local parts, IP literals and display names are refused.
# Matched whole (fullmatch): "$" would let a trailing newline through, into the headers.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:(?:{_LABEL}\.)+[A-Za-z]{{2,63}}|localhost)")
ADDRESS_MAX = 254
LOCAL_MAX = 64


def check_address(value: str) -> str:
    """``value`` if it is an e-mail address (see ``ADDRESS``), else ValueError."""
    if len(value) > ADDRESS_MAX or not ADDRESS.fullmatch(value) or len(value.rsplit("@", 1)[0]) > LOCAL_MAX:
        raise ValueError("not a valid e-mail address")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(value: str) -> str:
    """``value`` if it is an IANA time zone name (``Europe/Paris``, ``UTC``), else ValueError."""
    if value not in _zones():
        raise ValueError("not an IANA time zone name (e.g. Europe/Paris)")
    return value


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
