"""gridcommons.quantity: number or decimal-string in, decimal string out, units validated."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gridcommons.quantity import DecimalAmount, Energy, Power, Price, Quantity, format_decimal


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1, "1"),
        (0, "0"),
        (-3, "-3"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1e-7, "0.0000001"),
        ("1.50", "1.5"),
        ("0.100", "0.1"),
        (" 2.25 ", "2.25"),
        ("1e3", "1000"),
        ("-0.000", "0"),
        ("100", "100"),
        (Decimal("1E+1"), "10"),
        ("12345678901234567890", "12345678901234567890"),  # 28 digits: the context precision
    ],
)
def test_number_and_string_input_give_a_decimal_string(amount: object, expected: str) -> None:
    q = Power(amount=amount, unit="MW")
    assert isinstance(q.amount, Decimal)
    assert q.model_dump(mode="json") == {"amount": expected, "unit": "MW"}


def test_json_output_is_a_string_never_a_number() -> None:
    assert Energy(amount=2, unit="MWh").model_dump_json() == '{"amount":"2","unit":"MWh"}'


@pytest.mark.parametrize(
    ("cls", "good", "bad"),
    [(Power, "MW", "kW"), (Energy, "MWh", "MW"), (Price, "EUR/MWh", "EUR")],
)
def test_units_are_validated(cls: type[Quantity], good: str, bad: str) -> None:
    assert cls(amount=1, unit=good).unit == good
    with pytest.raises(ValidationError):
        cls(amount=1, unit=bad)
    with pytest.raises(ValidationError):
        cls(amount=1, unit=good.lower())


def test_base_quantity_accepts_any_unit_but_no_extra_fields() -> None:
    assert Quantity(amount="1", unit="kWh").unit == "kWh"
    with pytest.raises(ValidationError):
        Quantity(amount="1", unit="kWh", extra=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Quantity(amount="1")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "amount",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "sNaN",
        "abc",
        "",
        "1,5",
        "1.2.3",
        None,
        [1],
        {"amount": 1},
        b"1",
    ],
)
def test_refused_amounts(amount: object) -> None:
    with pytest.raises(ValidationError):
        Power(amount=amount, unit="MW")


def test_amount_from_json_text() -> None:
    assert Power.model_validate_json('{"amount": 12.5, "unit": "MW"}').amount == Decimal("12.5")
    assert Power.model_validate_json('{"amount": "12.50", "unit": "MW"}').amount == Decimal("12.5")
    with pytest.raises(ValidationError):
        Power.model_validate_json('{"amount": true, "unit": "MW"}')


# Up to 20 significant digits and 18 decimal places: inside the bounds (20 integer digits, 18 decimal places).
finite_decimals = st.builds(
    lambda n, places: Decimal(n).scaleb(-places),
    st.integers(min_value=-(10**20) + 1, max_value=10**20 - 1),
    st.integers(min_value=0, max_value=18),
)


@given(finite_decimals)
def test_round_trip_decimal(d: Decimal) -> None:
    q = Power(amount=d, unit="MW")
    wire = q.model_dump(mode="json")
    assert isinstance(wire["amount"], str)
    assert "E" not in wire["amount"] and "e" not in wire["amount"]
    assert Decimal(wire["amount"]) == d
    again = Power.model_validate(wire)
    assert again == q and again.model_dump(mode="json") == wire


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=16), st.text(alphabet="0123456789", max_size=12), st.booleans()
)
def test_round_trip_decimal_string(int_part: str, frac_part: str, negative: bool) -> None:
    text = ("-" if negative else "") + int_part + ("." + frac_part if frac_part else "")
    out = Power(amount=text, unit="MW").model_dump(mode="json")["amount"]
    assert Decimal(out) == Decimal(text)
    # canonical: no trailing zeros after the point, no leading zeros, no "-0"
    if "." in out:
        assert not out.endswith("0") and not out.endswith(".")
    assert out == "0" or not out.lstrip("-").startswith("0") or out.lstrip("-").startswith("0.")
    assert out != "-0"


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12).filter(
        lambda f: -Decimal(repr(f)).as_tuple().exponent <= 18  # type: ignore[operator]
    )
)
def test_round_trip_float(f: float) -> None:
    out = Power(amount=f, unit="MW").model_dump(mode="json")["amount"]
    assert float(Decimal(out)) == f  # the float's shortest repr, not its binary expansion
    assert Decimal(out) == Decimal(repr(f))


@given(finite_decimals)
def test_format_decimal_is_plain(d: Decimal) -> None:
    text = format_decimal(d)
    assert Decimal(text) == d
    assert "E" not in text


def test_decimal_amount_annotation_in_other_models() -> None:
    class Reading(BaseModel):
        value: DecimalAmount

    assert Reading(value="0.250").model_dump(mode="json") == {"value": "0.25"}


@pytest.mark.parametrize("amount", ["1e9999999", "1e-9999999"])
def test_huge_exponents_are_refused_at_input(amount: str) -> None:
    try:
        q = Power(amount=amount, unit="MW")
    except ValidationError:
        return
    assert Decimal(q.model_dump(mode="json")["amount"]) == Decimal(amount)


def test_more_than_28_significant_digits_are_kept_or_refused() -> None:
    text = "123456789012345678901234567890.000000001"
    try:
        q = Power(amount=text, unit="MW")
    except ValidationError:
        return
    assert q.model_dump(mode="json")["amount"] == text


@pytest.mark.parametrize("amount", ["123456789012345678901", "0.0000000000000000001", "-1e21"])
def test_amounts_beyond_the_bounds_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError):
        Power(amount=amount, unit="MW")


def test_zeros_beyond_eighteen_places_are_dropped() -> None:
    assert Power(amount="0.1000000000000000000000", unit="MW").model_dump(mode="json")["amount"] == "0.1"


def test_floats_are_rounded_to_eighteen_places() -> None:
    assert Power(amount=5.968464489265268e-64, unit="MW").model_dump(mode="json")["amount"] == "0"
    assert Power(amount=0.0012345678901234567, unit="MW").model_dump(mode="json")["amount"] == "0.001234567890123457"
