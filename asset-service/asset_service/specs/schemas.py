"""Wire shapes of seed 002 (technical specs)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, Energy, NonNegativeAmount, NonNegativeEnergy, NonNegativePower, Power
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..validation import Efficiency as EfficiencyAmount


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _efficiency(value: Decimal) -> Decimal:
    if not (0 < value <= 1):
        raise ValueError("efficiency must be in (0, 1]")
    return value


Efficiency = Annotated[EfficiencyAmount, Field(description="A ratio in (0, 1], number or decimal string.")]
RampRate = Annotated[NonNegativeAmount, Field(description="MW per minute (>= 0), number or decimal string.")]

# Spec fields (besides the key and valid_to) -> "power" | "energy" | "ratio" | "text".
SPEC_FIELDS: dict[str, str] = {
    "rated_power": "power",
    "grid_connection_max_power": "power",
    "max_capacity": "energy",
    "ramp_rate": "ratio",
    "ramp_type": "text",
    "charge_efficiency": "ratio",
    "discharge_efficiency": "ratio",
    "daily_cycle_energy_limit": "energy",
    "prequalified_fcr": "power",
    "prequalified_afrr_charge": "power",
    "prequalified_afrr_discharge": "power",
}


class UpsertSpecRequest(WireModel):
    """A spec version. Omitted fields keep their stored value on re-submission of the same key;
    an explicit null clears it, except ``valid_to``: null there is the same as omitted (the system
    manages the end of a BESS version: a newer version closes it), so a client that always
    serialises nulls can still correct a closed version."""

    asset_id: str = Field(min_length=1, max_length=128)
    valid_from: UtcInstant
    valid_to: UtcInstant | None = Field(
        default=None,
        description="End of the version (exclusive). Omitted or null: open-ended for a new version (BESS; "
        "a newer version closes it), unchanged on re-submission of an existing version.",
    )
    rated_power: NonNegativePower | None = None
    grid_connection_max_power: NonNegativePower | None = None
    max_capacity: NonNegativeEnergy | None = None
    ramp_rate: RampRate | None = None
    ramp_type: str | None = Field(default=None, min_length=1, max_length=64)
    charge_efficiency: Efficiency | None = None
    discharge_efficiency: Efficiency | None = None
    daily_cycle_energy_limit: NonNegativeEnergy | None = None
    prequalified_fcr: NonNegativePower | None = None
    prequalified_afrr_charge: NonNegativePower | None = None
    prequalified_afrr_discharge: NonNegativePower | None = None

    @model_validator(mode="after")
    def _check(self) -> UpsertSpecRequest:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.ramp_rate is not None:
            _non_negative(self.ramp_rate)
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if value is not None:
                try:
                    _efficiency(value)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self

    def column_values(self) -> dict[str, Any]:
        """The columns this request sets (omitted fields absent; quantities as their amount)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set - {"asset_id", "valid_from"}:
            value = getattr(self, name)
            if name == "valid_to" and value is None:
                continue  # null = omitted: keep the stored end (see the class docstring)
            out[name] = value.amount if isinstance(value, (Power, Energy)) else value
        return out


class SpecResponse(WireModel):
    asset_id: str
    valid_from: datetime
    valid_to: datetime | None
    rated_power: Power | None
    grid_connection_max_power: Power | None
    max_capacity: Energy | None
    ramp_rate: DecimalAmount | None
    ramp_type: str | None
    charge_efficiency: DecimalAmount | None
    discharge_efficiency: DecimalAmount | None
    daily_cycle_energy_limit: Energy | None
    prequalified_fcr: Power | None
    prequalified_afrr_charge: Power | None
    prequalified_afrr_discharge: Power | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Self:
        data = dict(row)
        data.pop("company_id", None)
        for name, kind in SPEC_FIELDS.items():
            value = data.get(name)
            if value is None:
                continue
            if kind == "power":
                data[name] = Power(amount=value, unit="MW")
            elif kind == "energy":
                data[name] = Energy(amount=value, unit="MWh")
        return super().from_row(data)


class SpecListResponse(WireModel):
    limit: int
    offset: int
    specs: list[SpecResponse]
