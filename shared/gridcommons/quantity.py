"""Quantities: ``{"amount": "<decimal string>", "unit": "MW"}`` on the wire, NUMERIC in the database.

One JSON schema for requests and responses: an amount is documented as a decimal string
(``DECIMAL_PATTERN``; a JSON number is still accepted on input), a unit as the enum of the
subclass's ``allowed_units``. So FastAPI never splits a quantity into ``Power-Input`` and
``Power-Output`` components with the same title (which SDK generators refuse as duplicates).
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from .describe import enum_extra

MAX_INTEGER_DIGITS = 20
MAX_FRACTION_DIGITS = 18
_EXACT = Context(prec=MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 2)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("amount must be a number or a decimal string")
    from_float = isinstance(value, float)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, float, str)):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("amount must be a number or a decimal string") from exc
    else:
        raise ValueError("amount must be a number or a decimal string")
    if not d.is_finite():
        raise ValueError("amount must be finite")
    # Bounds that NUMERIC storage and exact decimal arithmetic keep without rounding.
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    extra = -exponent - MAX_FRACTION_DIGITS
    if extra > 0:
        if from_float:
            # A float is approximate anyway: round it to the stored precision.
            d = d.quantize(Decimal(1).scaleb(-MAX_FRACTION_DIGITS), context=_EXACT)
        elif any(digits[-extra:]):
            raise ValueError(f"amount has more than {MAX_FRACTION_DIGITS} decimal places")
        d = d.quantize(Decimal(1).scaleb(-MAX_FRACTION_DIGITS), context=_EXACT)
    if d != 0 and d.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits")
    return d


def format_decimal(d: Decimal) -> str:
    """Plain notation (no exponent), no trailing zeros, never "-0"; exact (no rounding context)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("", "-0", "0", "-"):
        return "0"
    return text


# What responses carry (``format_decimal``): plain notation, at most 20 integer and 18 fraction digits.
DECIMAL_PATTERN = rf"^-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]{{1,{MAX_FRACTION_DIGITS}}})?$"
NON_NEGATIVE_DECIMAL_PATTERN = DECIMAL_PATTERN.replace("^-?", "^", 1)
_DECIMAL_TEXT = "A decimal number as a string in plain notation (a JSON number is also accepted on input)"


def decimal_schema(pattern: str = DECIMAL_PATTERN, rule: str = "", example: str = "12.5") -> dict[str, Any]:
    """The JSON schema of a decimal amount (a string matching ``pattern``; ``rule`` is added to the text;
    ``example`` is what Swagger UI pre-fills)."""
    return {
        "type": "string",
        "pattern": pattern,
        "description": f"{_DECIMAL_TEXT}{'; ' + rule if rule else ''}.",
        "examples": [example],
    }


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must be >= 0")
    return value


DecimalAmount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(format_decimal, return_type=str),
    # The same schema in validation and serialization mode (see the module docstring).
    WithJsonSchema(decimal_schema()),
]
NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_non_negative),
    PlainSerializer(format_decimal, return_type=str),
    WithJsonSchema(decimal_schema(NON_NEGATIVE_DECIMAL_PATTERN, ">= 0")),
]


class Quantity(BaseModel):
    """An amount with its unit. Subclasses restrict the unit (``allowed_units``) and may refuse negative
    amounts (``non_negative``: the schema's pattern has no sign, a negative amount is a 422)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    allowed_units: ClassVar[tuple[str, ...]] = ()
    non_negative: ClassVar[bool] = False

    amount: DecimalAmount
    unit: str = Field(description="Unit of the amount.")

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, unit: str) -> str:
        if cls.allowed_units and unit not in cls.allowed_units:
            raise ValueError(f"unit must be one of {', '.join(cls.allowed_units)}")
        return unit

    @field_validator("amount")
    @classmethod
    def _check_sign(cls, amount: Decimal) -> Decimal:
        return _non_negative(amount) if cls.non_negative else amount

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        props = handler.resolve_ref_schema(schema)["properties"]
        if cls.allowed_units:
            meanings = {u: UNIT_MEANINGS.get(u, u) for u in cls.allowed_units}
            props["unit"] = {
                **props["unit"],
                "enum": list(cls.allowed_units),
                **enum_extra(meanings, "Unit of the amount."),
            }
        if cls.non_negative:
            props["amount"] = {**props["amount"], **decimal_schema(NON_NEGATIVE_DECIMAL_PATTERN, ">= 0")}
        return schema


# What each unit means (the enum value descriptions of ``unit``).
UNIT_MEANINGS = {
    "MW": "megawatt: power, an average over the period it applies to",
    "MWh": "megawatt-hour: energy",
    "EUR/MWh": "euro per megawatt-hour: price of energy",
}


class Power(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("MW",)


class Energy(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("MWh",)


class Price(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("EUR/MWh",)


class NonNegativePower(Power):
    """A power that cannot be negative (a capacity, a forecast, a limit)."""

    non_negative: ClassVar[bool] = True


class NonNegativeEnergy(Energy):
    """An energy that cannot be negative (a stored energy, a capacity, a buffer)."""

    non_negative: ClassVar[bool] = True
