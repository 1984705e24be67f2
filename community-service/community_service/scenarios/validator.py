"""The rules a scenario document must keep before it is stored (the devices' operating document, read by
each unit's energy-sharing program). The text is checked, never rewritten: it is stored and served
byte for byte.

A document is a JSON object:

- ``#``-prefixed keys are comments, anywhere, and may repeat (the protocol's own examples repeat ``#``);
  any other key appearing twice in one object is refused: a device would silently keep one of them;
- ``refreshingPeriodMsec``: a positive integer (how often the device fetches the document again);
- ``acceptSelection``: ``{"strategy": "amount" | "pointAndAmount"}`` (top level, or inside a window);
- time windows ``HH:MM:SS-HH:MM:SS`` (start before end, ``24:00:00`` allowed as the end), at least one,
  each with ``batteryStatus`` (``"<lowerWh>-<upperWh>": "<status>"``, either bound may be empty), and
  ``request`` and ``accept`` objects keyed by statuses of that ``batteryStatus``, each an empty object or
  ``charge`` / ``discharge`` actions ``{"limitWh": int, "pointPerWh": number, "pairUnitId"?: str}``.

Any other key is refused: a typo in a window key (``00:00:00_24:00:00``) would otherwise leave the
device without a rule for the day.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

STRATEGIES = ("amount", "pointAndAmount")
ACTIONS = ("charge", "discharge")
_WINDOW = re.compile(r"^(\d{2}):(\d{2}):(\d{2})-(\d{2}):(\d{2}):(\d{2})$")
_BOUNDS = re.compile(r"^(\d*)-(\d*)$")

Path = tuple[str, ...]


class ScenarioInvalid(ValueError):
    """The first problem of a scenario document: where (``path``, the keys from the document's root)
    and why (``reason``)."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{where(path)}: {reason}")


def where(path: Path) -> str:
    """A path as the author reads it: ``$`` then each key, e.g. ``$["00:00:00-24:00:00"].request``."""
    return "$" + "".join(f".{k}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else f"[{json.dumps(k)}]" for k in path)


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers its first duplicated non-comment key."""

    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object()
    for key, value in pairs:
        if key in out and not key.startswith("#") and out.duplicate is None:
            out.duplicate = key
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse(text: str) -> _Object:
    """The document as nested objects (comment keys may repeat), or ``ScenarioInvalid``."""
    try:
        doc = json.loads(text, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ScenarioInvalid((), f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise ScenarioInvalid((), f"not valid JSON: {exc}") from None
    if not isinstance(doc, _Object):
        raise ScenarioInvalid((), "must be a JSON object")
    return doc


def validate_scenario(text: str) -> None:
    """Raises ``ScenarioInvalid`` naming the first problem of the document; returns if it is valid."""
    doc = parse(text)
    _check_keys(doc, ())
    windows = 0
    for key, value in doc.items():
        if key.startswith("#"):
            continue
        if key == "refreshingPeriodMsec":
            if type(value) is not int or value <= 0:
                raise ScenarioInvalid((key,), "must be a positive integer (milliseconds)")
        elif key == "acceptSelection":
            _check_accept_selection(value, (key,))
        elif "-" in key:
            _check_window(key, value)
            windows += 1
        else:
            raise ScenarioInvalid(
                (key,),
                "unknown key: expected refreshingPeriodMsec, acceptSelection, a HH:MM:SS-HH:MM:SS window or a #comment",
            )
    if windows == 0:
        raise ScenarioInvalid((), "declares no time window (a HH:MM:SS-HH:MM:SS key)")


def _check_keys(obj: _Object, path: Path) -> None:
    if obj.duplicate is not None:
        raise ScenarioInvalid((*path, obj.duplicate), "appears twice in the same object (only #comments may repeat)")


def _as_object(value: Any, path: Path, what: str) -> _Object:
    if not isinstance(value, _Object):
        raise ScenarioInvalid(path, f"must be an object ({what})")
    _check_keys(value, path)
    return value


def _members(obj: _Object) -> list[tuple[str, Any]]:
    """The non-comment members, in document order."""
    return [(k, v) for k, v in obj.items() if not k.startswith("#")]


def _check_accept_selection(value: Any, path: Path) -> None:
    obj = _as_object(value, path, '{"strategy": ...}')
    for key, _ in _members(obj):
        if key != "strategy":
            raise ScenarioInvalid((*path, key), "unknown key: acceptSelection holds only strategy and #comments")
    if "strategy" not in obj:
        raise ScenarioInvalid(path, "strategy is missing")
    if obj["strategy"] not in STRATEGIES:
        raise ScenarioInvalid((*path, "strategy"), f"must be one of {', '.join(STRATEGIES)}")


def _time(h: str, m: str, s: str) -> bool:
    return int(h) < 24 and int(m) < 60 and int(s) < 60


def _check_window(key: str, value: Any) -> None:
    path: Path = (key,)
    match = _WINDOW.match(key)
    if match is None:
        raise ScenarioInvalid(path, "a time window key is HH:MM:SS-HH:MM:SS")
    h1, m1, s1, h2, m2, s2 = match.groups()
    if not _time(h1, m1, s1):
        raise ScenarioInvalid(path, "window start is not a time of day (00:00:00..23:59:59)")
    if not (_time(h2, m2, s2) or (h2, m2, s2) == ("24", "00", "00")):
        raise ScenarioInvalid(path, "window end is not a time of day (00:00:00..24:00:00)")
    # Devices compare the times as text: a window whose end is not after its start never applies.
    if key[9:] <= key[:8]:
        raise ScenarioInvalid(path, "window end must be after its start")
    window = _as_object(value, path, "batteryStatus, request, accept")
    for member, _ in _members(window):
        if member not in ("batteryStatus", "request", "accept", "acceptSelection"):
            raise ScenarioInvalid(
                (*path, member),
                "unknown key: a window holds batteryStatus, request, accept, acceptSelection, #comments",
            )
    for required in ("batteryStatus", "request", "accept"):
        if required not in window:
            raise ScenarioInvalid(path, f"{required} is missing")
    statuses = _check_battery_status(window["batteryStatus"], (*path, "batteryStatus"))
    for part in ("request", "accept"):
        _check_rules(window[part], (*path, part), statuses)
    if "acceptSelection" in window:
        _check_accept_selection(window["acceptSelection"], (*path, "acceptSelection"))


def _check_battery_status(value: Any, path: Path) -> set[str]:
    obj = _as_object(value, path, '"<lowerWh>-<upperWh>": "<status>"')
    members = _members(obj)
    if not members:
        raise ScenarioInvalid(path, "declares no battery status")
    for key, status in members:
        bounds = _BOUNDS.match(key)
        if bounds is None:
            raise ScenarioInvalid(
                (*path, key), "a battery status key is <lowerWh>-<upperWh> (digits; either may be empty)"
            )
        lower, upper = bounds.groups()
        if lower and upper and int(lower) >= int(upper):
            raise ScenarioInvalid((*path, key), "the lower bound must be below the upper bound")
        if not isinstance(status, str) or not status:
            raise ScenarioInvalid((*path, key), "the status name must be a non-empty string")
    return {status for _, status in members}


def _check_rules(value: Any, path: Path, statuses: set[str]) -> None:
    obj = _as_object(value, path, "status → actions")
    for status, actions in _members(obj):
        if status not in statuses:
            raise ScenarioInvalid((*path, status), "is not a status of this window's batteryStatus")
        actions_obj = _as_object(actions, (*path, status), "empty, or charge / discharge")
        for action, rule in _members(actions_obj):
            if action not in ACTIONS:
                raise ScenarioInvalid((*path, status, action), "unknown action: only charge and discharge")
            _check_action(rule, (*path, status, action))


def _check_action(value: Any, path: Path) -> None:
    rule = _as_object(value, path, '{"limitWh": int, "pointPerWh": number}')
    for key, _ in _members(rule):
        if key not in ("limitWh", "pointPerWh", "pairUnitId"):
            raise ScenarioInvalid((*path, key), "unknown key: an action holds limitWh, pointPerWh, pairUnitId")
    limit = rule.get("limitWh")
    if type(limit) is not int or limit < 0:
        raise ScenarioInvalid((*path, "limitWh"), "must be a non-negative integer (Wh)")
    point = rule.get("pointPerWh")
    if not isinstance(point, int | float) or isinstance(point, bool) or not math.isfinite(point):
        raise ScenarioInvalid((*path, "pointPerWh"), "must be a number")
    if "pairUnitId" in rule and (not isinstance(rule["pairUnitId"], str) or not rule["pairUnitId"]):
        raise ScenarioInvalid((*path, "pairUnitId"), "must be a non-empty string (a unit code)")
