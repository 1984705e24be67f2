"""Wire shapes of seed 002 (technical specs)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount, Energy, NonNegativeAmount, NonNegativeEnergy, NonNegativePower, Power
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..validation import AssetIdOut
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

    asset_id: str = Field(
        description="Asset id, as assigned by the platform when the asset was created (`<REGION>_<AREA>_<CODE>_<n>`, e.g. `DE_50HZ_WU_1`).",
        min_length=1,
        max_length=128,
        examples=["DE_50HZ_WU_1"],
    )
    valid_from: UtcInstant = Field(
        description="Start of this version of the specification (ISO 8601 instant with offset, answered in UTC); with asset_id the version's key.",
        examples=["2027-01-01T00:00:00Z"],
    )
    valid_to: UtcInstant | None = Field(
        default=None,
        description="End of the version (exclusive). Omitted or null: open-ended for a new version (BESS; "
        "a newer version closes it), unchanged on re-submission of an existing version.",
        examples=[None],
    )
    rated_power: NonNegativePower | None = Field(
        default=None, description="Rated (nameplate) power of the asset, MW.", examples=[{"amount": "4", "unit": "MW"}]
    )
    grid_connection_max_power: NonNegativePower | None = Field(
        default=None,
        description="Largest power the grid connection allows, MW.",
        examples=[{"amount": "4", "unit": "MW"}],
    )
    max_capacity: NonNegativeEnergy | None = Field(
        default=None, description="Usable storage capacity, MWh.", examples=[{"amount": "8", "unit": "MWh"}]
    )
    ramp_rate: RampRate | None = Field(
        default=None, description="How fast the power can change, MW per minute (>= 0).", examples=["2"]
    )
    ramp_type: str | None = Field(
        description="Kind of ramp (free text up to 64 characters, e.g. `LINEAR`; seed 002 leaves the values open).",
        default=None,
        min_length=1,
        max_length=64,
        examples=["LINEAR"],
    )
    charge_efficiency: Efficiency | None = Field(
        default=None, description="Charging efficiency as a fraction in (0, 1], e.g. 0.95.", examples=["0.95"]
    )
    discharge_efficiency: Efficiency | None = Field(
        default=None, description="Discharging efficiency as a fraction in (0, 1], e.g. 0.95.", examples=["0.95"]
    )
    daily_cycle_energy_limit: NonNegativeEnergy | None = Field(
        default=None,
        description="Largest energy the asset may cycle per delivery day, MWh.",
        examples=[{"amount": "16", "unit": "MWh"}],
    )
    prequalified_fcr: NonNegativePower | None = Field(
        default=None,
        description="Power prequalified for frequency containment reserve (FCR), MW.",
        examples=[{"amount": "1", "unit": "MW"}],
    )
    prequalified_afrr_charge: NonNegativePower | None = Field(
        default=None,
        description="Power prequalified for automatic frequency restoration reserve (aFRR) in charging direction, MW.",
        examples=[{"amount": "2", "unit": "MW"}],
    )
    prequalified_afrr_discharge: NonNegativePower | None = Field(
        default=None,
        description="Power prequalified for aFRR in discharging direction, MW.",
        examples=[{"amount": "2", "unit": "MW"}],
    )

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
    asset_id: AssetIdOut
    valid_from: datetime = Field(
        description="Start of this version of the specification (ISO 8601 instant with offset, answered in UTC); with asset_id the version's key.",
        examples=["2027-01-01T00:00:00Z"],
    )
    valid_to: datetime | None = Field(
        description="End of this version, exclusive (ISO 8601 instant with offset, answered in UTC); null = open-ended."
    )
    rated_power: Power | None = Field(description="Rated (nameplate) power of the asset, MW.")
    grid_connection_max_power: Power | None = Field(description="Largest power the grid connection allows, MW.")
    max_capacity: Energy | None = Field(description="Usable storage capacity, MWh.")
    ramp_rate: DecimalAmount | None = Field(description="How fast the power can change, MW per minute (>= 0).")
    ramp_type: str | None = Field(
        description="Kind of ramp (free text up to 64 characters, e.g. `LINEAR`; seed 002 leaves the values open)."
    )
    charge_efficiency: DecimalAmount | None = Field(
        description="Charging efficiency as a fraction in (0, 1], e.g. 0.95."
    )
    discharge_efficiency: DecimalAmount | None = Field(
        description="Discharging efficiency as a fraction in (0, 1], e.g. 0.95."
    )
    daily_cycle_energy_limit: Energy | None = Field(
        description="Largest energy the asset may cycle per delivery day, MWh."
    )
    prequalified_fcr: Power | None = Field(
        description="Power prequalified for frequency containment reserve (FCR), MW."
    )
    prequalified_afrr_charge: Power | None = Field(
        description="Power prequalified for automatic frequency restoration reserve (aFRR) in charging direction, MW."
    )
    prequalified_afrr_discharge: Power | None = Field(
        description="Power prequalified for aFRR in discharging direction, MW."
    )
    created_at: datetime = Field(
        description="When the platform first stored this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )
    updated_at: datetime = Field(
        description="When the platform last changed this record (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-11-02T09:30:00Z"],
    )

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
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    specs: list[SpecResponse] = Field(
        description="Technical specifications of this page, ordered by asset and valid_from."
    )
