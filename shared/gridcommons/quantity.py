"""Quantities: ``{"amount": "<decimal string>", "unit": "MW"}`` on the wire, NUMERIC in the database."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, field_validator


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("amount must be a number or a decimal string")
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
    return d


def format_decimal(d: Decimal) -> str:
    """Plain notation (no exponent), trailing zeros removed."""
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


DecimalAmount = Annotated[Decimal, BeforeValidator(_to_decimal), PlainSerializer(format_decimal, return_type=str)]


class Quantity(BaseModel):
    """An amount with its unit. Subclasses restrict the unit (``allowed_units``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    allowed_units: ClassVar[tuple[str, ...]] = ()

    amount: DecimalAmount
    unit: str

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, unit: str) -> str:
        if cls.allowed_units and unit not in cls.allowed_units:
            raise ValueError(f"unit must be one of {', '.join(cls.allowed_units)}")
        return unit


class Power(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("MW",)


class Energy(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("MWh",)


class Price(Quantity):
    allowed_units: ClassVar[tuple[str, ...]] = ("EUR/MWh",)
