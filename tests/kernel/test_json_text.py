"""``json_text``, the JSON columns' encoder (orjson, the standard library for what orjson refuses)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcommons.serialization import json_text

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_the_text_reads_back_as_the_value(value: Any) -> None:
    assert json.loads(json_text(value)) == value


@pytest.mark.parametrize("value", [2**64, {"n": -(2**70)}, {1: "a"}])
def test_what_orjson_refuses_is_encoded_as_before(value: Any) -> None:
    assert json_text(value) == json.dumps(value)
