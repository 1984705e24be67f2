"""The scenario document rules: the protocol's own examples pass; one broken variant per rule fails,
naming where and why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community_service.scenarios.examples import EXAMPLES, HIGH_PRIORITY, LOW_PRIORITY, LOW_PRIORITY_AS_SERVED
from community_service.scenarios.validator import ScenarioInvalid, validate_scenario

W = "00:00:00-24:00:00"


@pytest.mark.parametrize("text", [HIGH_PRIORITY, LOW_PRIORITY, LOW_PRIORITY_AS_SERVED])
def test_the_protocol_examples_are_valid(text: str) -> None:
    validate_scenario(text)
    assert text.count('"#"') >= 2  # repeated comment keys in one object are part of the format


def test_examples_are_named() -> None:
    assert [name for name, _, _ in EXAMPLES] == ["HIGH_PRIORITY", "LOW_PRIORITY"]


def _doc() -> dict[str, Any]:
    return json.loads(HIGH_PRIORITY)


def _broken(change: Any) -> str:
    doc = _doc()
    change(doc)
    return json.dumps(doc)


def _window(doc: dict[str, Any]) -> dict[str, Any]:
    w: dict[str, Any] = doc[W]
    return w


def _set(path: list[str], value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _delete(path: list[str]) -> Any:
    def change(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def _rename_window(new: str) -> Any:
    def change(doc: dict[str, Any]) -> None:
        doc[new] = doc.pop(W)

    return change


EXCESS = [W, "request", "excess"]
ACTION = [*EXCESS, "discharge"]

BROKEN: list[tuple[str, str, tuple[str, ...], str]] = [
    # (case, text, path, words of the reason)
    ("not json", "{", (), "not valid JSON"),
    ("not an object", "[1]", (), "must be a JSON object"),
    ("NaN", '{"refreshingPeriodMsec": NaN}', (), "not valid JSON"),
    ("duplicate key", '{"refreshingPeriodMsec": 1, "refreshingPeriodMsec": 2}', ("refreshingPeriodMsec",), "twice"),
    ("no window", '{"#": "x", "refreshingPeriodMsec": 1000}', (), "no time window"),
    ("unknown top key", _broken(_set(["refreshing"], 1)), ("refreshing",), "unknown key"),
    ("period zero", _broken(_set(["refreshingPeriodMsec"], 0)), ("refreshingPeriodMsec",), "positive integer"),
    ("period float", _broken(_set(["refreshingPeriodMsec"], 1.5)), ("refreshingPeriodMsec",), "positive integer"),
    ("period bool", _broken(_set(["refreshingPeriodMsec"], True)), ("refreshingPeriodMsec",), "positive integer"),
    ("strategy", _broken(_set(["acceptSelection", "strategy"], "price")), ("acceptSelection", "strategy"), "one of"),
    ("no strategy", _broken(_delete(["acceptSelection", "strategy"])), ("acceptSelection",), "strategy is missing"),
    (
        "window strategy",
        _broken(_set([W, "acceptSelection"], {"strategy": "x"})),
        (W, "acceptSelection", "strategy"),
        "one of",
    ),
    ("window key", _broken(_rename_window("00:00-24:00")), ("00:00-24:00",), "HH:MM:SS-HH:MM:SS"),
    ("window hour", _broken(_rename_window("25:00:00-26:00:00")), ("25:00:00-26:00:00",), "start"),
    ("window end", _broken(_rename_window("00:00:00-24:00:01")), ("00:00:00-24:00:01",), "end"),
    ("window order", _broken(_rename_window("12:00:00-06:00:00")), ("12:00:00-06:00:00",), "after its start"),
    ("window not object", _broken(_set([W], [])), (W,), "must be an object"),
    ("no batteryStatus", _broken(_delete([W, "batteryStatus"])), (W,), "batteryStatus is missing"),
    ("no request", _broken(_delete([W, "request"])), (W,), "request is missing"),
    ("no accept", _broken(_delete([W, "accept"])), (W,), "accept is missing"),
    ("window extra", _broken(_set([W, "priority"], 1)), (W, "priority"), "unknown key"),
    (
        "status bounds",
        _broken(_set([W, "batteryStatus", "a-b"], "x")),
        (W, "batteryStatus", "a-b"),
        "<lowerWh>-<upperWh>",
    ),
    ("status order", _broken(_set([W, "batteryStatus", "500-100"], "x")), (W, "batteryStatus", "500-100"), "below"),
    ("status name", _broken(_set([W, "batteryStatus", "1-2"], 3)), (W, "batteryStatus", "1-2"), "non-empty string"),
    ("empty statuses", _broken(_set([W, "batteryStatus"], {})), (W, "batteryStatus"), "no battery status"),
    ("unknown status", _broken(_set([W, "accept", "overflow"], {})), (W, "accept", "overflow"), "not a status"),
    ("action", _broken(_set([*EXCESS, "hold"], {})), (*EXCESS, "hold"), "only charge and discharge"),
    ("limit float", _broken(_set([*ACTION, "limitWh"], 4800.5)), (*ACTION, "limitWh"), "integer"),
    ("limit missing", _broken(_delete([*ACTION, "limitWh"])), (*ACTION, "limitWh"), "integer"),
    ("limit negative", _broken(_set([*ACTION, "limitWh"], -1)), (*ACTION, "limitWh"), "non-negative"),
    ("point text", _broken(_set([*ACTION, "pointPerWh"], "10")), (*ACTION, "pointPerWh"), "number"),
    ("point missing", _broken(_delete([*ACTION, "pointPerWh"])), (*ACTION, "pointPerWh"), "number"),
    ("pair unit", _broken(_set([*ACTION, "pairUnitId"], 7)), (*ACTION, "pairUnitId"), "string"),
    ("action extra", _broken(_set([*ACTION, "limitW"], 1)), (*ACTION, "limitW"), "unknown key"),
    ("rules not object", _broken(_set([W, "request"], [])), (W, "request"), "must be an object"),
]


@pytest.mark.parametrize(("text", "path", "reason"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_one_broken_variant_per_rule(text: str, path: tuple[str, ...], reason: str) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        validate_scenario(text)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith("$")


def test_valid_variants() -> None:
    """What the rules allow beyond the examples: a pair unit, both actions, a window's own strategy, several
    windows, comments anywhere, unbounded statuses, an empty rules object."""
    doc = _doc()
    doc[W]["request"]["excess"]["discharge"]["pairUnitId"] = "E002"
    doc[W]["request"]["excess"]["charge"] = {"limitWh": 100, "pointPerWh": 9.5}
    doc[W]["acceptSelection"] = {"strategy": "amount", "#": "per window"}
    doc["06:00:00-12:00:00"] = {"batteryStatus": {"-": "any", "#": "all"}, "request": {}, "accept": {"any": {}}}
    validate_scenario(json.dumps(doc))
    validate_scenario(HIGH_PRIORITY.replace('"#": "end"', '"#": "end", "#": "again"'))


def _reference_window_ok(key: str) -> bool:
    """Window keys by hand: two HH:MM:SS times of day (the end may be 24:00:00), end after start."""
    if len(key) != 17 or key[8] != "-":
        return False
    start, end = key[:8], key[9:]

    def seconds(t: str, end_of_day: bool) -> int | None:
        parts = t.split(":")
        if len(parts) != 3 or not all(len(p) == 2 and p.isascii() and p.isdigit() for p in parts):
            return None
        h, m, s = (int(p) for p in parts)
        if (h, m, s) == (24, 0, 0) and end_of_day:
            return 86_400
        return h * 3600 + m * 60 + s if h < 24 and m < 60 and s < 60 else None

    a, b = seconds(start, False), seconds(end, True)
    return a is not None and b is not None and a < b


_two = st.integers(0, 99).map(lambda n: f"{n:02d}")
_time = st.builds(
    lambda h, m, s: f"{h}:{m}:{s}", st.sampled_from(["00", "06", "12", "23", "24", "25", "99"]), _two, _two
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.one_of(
        st.builds(lambda a, b: f"{a}-{b}", _time, _time), st.text(alphabet="0123456789:-", min_size=1, max_size=20)
    )
)
def test_window_keys_match_a_reference(key: str) -> None:
    doc = json.loads(HIGH_PRIORITY)
    doc.pop(W)
    doc[key if "-" in key else f"{key}-"] = json.loads(HIGH_PRIORITY)[W]
    text = json.dumps(doc)
    window = key if "-" in key else f"{key}-"
    try:
        validate_scenario(text)
        accepted = True
    except ScenarioInvalid as exc:
        assert exc.path[:1] == (window,), (exc.path, exc.reason)
        accepted = False
    assert accepted == _reference_window_ok(window), window
