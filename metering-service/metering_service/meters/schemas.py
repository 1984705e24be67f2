"""Wire shapes of the meter registry (seed 001's fields; ids are integers, a measurement is named)."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from ipaddress import ip_address
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.validation import Text
from gridcommons.wire import WireModel

from ..modbus.decoding import MAX_ADDRESS, WordOrder, words
from ..series.schemas import ENERGY_UNITS, Unit

MAX_ID = 2**53 - 1
DEFAULT_POLL_INTERVAL_SECONDS = 60.0

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MeasurementName = Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


@explained_enum({"1": "single-directional (consumption only)", "2": "bi-directional (import and export)"})
class MeterType(IntEnum):
    """Kind of meter model."""

    SINGLE_DIRECTIONAL = 1
    BI_DIRECTIONAL = 2


@explained_enum(
    {"1": "instantaneous (power, voltage, current)", "2": "cumulative (an energy counter, in an energy unit)"}
)
class MeasurementType(IntEnum):
    """What a value of the measurement is."""

    INSTANTANEOUS = 1
    CUMULATIVE = 2


@explained_enum(
    {"1": "INT: int16 in 1 register", "2": "LONG: int32 in 2 registers", "3": "FLOAT: float32 in 2 registers"}
)
class RegisterDataType(IntEnum):
    """How the register's words encode the value."""

    INT = 1
    LONG = 2
    FLOAT = 3


@explained_enum({"3": "read holding registers", "4": "read input registers"})
class FunctionCode(IntEnum):
    """Modbus function that reads the register."""

    READ_HOLDING_REGISTERS = 3
    READ_INPUT_REGISTERS = 4


@explained_enum(
    {
        "msw_first": "most significant word first (Eastron's default)",
        "lsw_first": "least significant word first",
    }
)
class RegisterWordOrder(StrEnum):
    """Order of the two words of a LONG or FLOAT value."""

    MSW_FIRST = WordOrder.MSW_FIRST.value
    LSW_FIRST = WordOrder.LSW_FIRST.value


@explained_enum(
    {
        "pending": "not polled yet",
        "ok": "the last poll read every register",
        "stale": "the last poll failed (unreachable or refusing): see status_reason",
    }
)
class HostStatus(StrEnum):
    """What the poller last saw of the host."""

    PENDING = "pending"
    OK = "ok"
    STALE = "stale"


# ------------------------------------------------------------------ locations
class LocationRequest(WireModel):
    """A new location of a user."""

    user: Id = Field(description="The user the location belongs to (a member of the company).", examples=[2])
    street: Text = Field(min_length=1, max_length=255, description="Street name.", examples=["SunnyStreet"])
    number: Text = Field(min_length=1, max_length=32, description="House number.", examples=["68"])
    city: Text = Field(min_length=1, max_length=255, description="City.", examples=["SilliconCity"])
    zip_code: Text = Field(pattern=r"^\d{2}-\d{3}$", description="Postal code, NN-NNN.", examples=["11-420"])
    coord_x: float | None = Field(default=None, ge=-180, le=180, description="Longitude (optional).", examples=[18.67])
    coord_y: float | None = Field(default=None, ge=-90, le=90, description="Latitude (optional).", examples=[50.29])


class LocationResponse(WireModel):
    """A location."""

    id: int = Field(description="Location id.")
    street: str = Field(description="Street name.")
    number: str = Field(description="House number.")
    city: str = Field(description="City.")
    zip_code: str = Field(description="Postal code, NN-NNN.")
    coord_x: float | None = Field(description="Longitude, or null.")
    coord_y: float | None = Field(description="Latitude, or null.")
    user: int = Field(description="The user the location belongs to.")


# ------------------------------------------------------------------ meters, measurements, registers
class MeterRequest(WireModel):
    """A new meter model."""

    name: Text = Field(min_length=1, max_length=64, pattern=r"^\S+$", description="Model name.", examples=["sdm330"])
    type: MeterType = Field(description="Kind of meter model.", examples=[2])


class MeterResponse(WireModel):
    """A meter model."""

    id: int = Field(description="Meter model id.")
    name: str = Field(description="Model name, unique in the company.")
    type: MeterType = Field(description="Kind of meter model.")


class MeasurementRequest(WireModel):
    """A new measurement."""

    measurement: MeasurementName = Field(description="Measurement name, unique in the company.", examples=["current"])
    type: MeasurementType = Field(description="What a value of the measurement is.", examples=[1])


class MeasurementResponse(WireModel):
    """A measurement."""

    measurement: str = Field(description="Measurement name.")
    type: MeasurementType = Field(description="What a value of the measurement is.")


class ModbusRegisterRequest(WireModel):
    """Where a meter model holds a measurement."""

    address: int = Field(
        ge=0, le=MAX_ADDRESS, description="Address of the first word (0-based, as sent on the wire).", examples=[72]
    )
    measurement: MeasurementName = Field(
        description="The measurement (it must exist).", examples=["active_energy_consumed"]
    )
    unit: Unit = Field(
        description="Unit of the decoded value (a cumulative measurement needs an energy unit).", examples=["kWh"]
    )
    type: RegisterDataType = Field(description="How the words encode the value.", examples=[3])
    function_code: FunctionCode = Field(description="Modbus function that reads the register.", examples=[4])
    meter: Id = Field(description="The meter model.", examples=[3])
    word_order: RegisterWordOrder = Field(
        default=RegisterWordOrder.MSW_FIRST,
        description="Order of the words of a 2-register value.",
        examples=["msw_first"],
    )

    @model_validator(mode="after")
    def _fits(self) -> ModbusRegisterRequest:
        if self.address + words(self.type) - 1 > MAX_ADDRESS:
            raise ValueError(
                f"a {self.type.name} value needs {words(self.type)} registers: address {self.address} leaves only "
                f"{MAX_ADDRESS - self.address + 1}"
            )
        return self


class ModbusRegisterResponse(WireModel):
    """A register of a meter model."""

    id: int = Field(description="Register id.")
    address: int = Field(description="Address of the first word.")
    unit: str = Field(description="Unit of the decoded value.")
    type: RegisterDataType = Field(description="How the words encode the value.")
    function_code: FunctionCode = Field(description="Modbus function that reads the register.")
    meter: int = Field(description="The meter model.")
    measurement: str = Field(description="The measurement.")
    word_order: RegisterWordOrder = Field(description="Order of the words of a 2-register value.")


def check_unit_for(measurement_type: int, unit: str) -> str | None:
    """Why ``unit`` cannot hold a measurement of this type (None: it can)."""
    if measurement_type == MeasurementType.CUMULATIVE and unit not in ENERGY_UNITS:
        return "a cumulative measurement counts energy: its unit must be one of Wh, kWh, MWh, varh, kvarh"
    return None


# ------------------------------------------------------------------ hosts
def _check_ip(value: str) -> str:
    try:
        return str(ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


IpAddress = Annotated[Text, Field(max_length=45), AfterValidator(_check_ip)]


class HostRequest(WireModel):
    """A new host: one Modbus TCP endpoint of a meter."""

    ip: IpAddress = Field(description="IP address of the Modbus TCP endpoint.", examples=["127.0.0.1"])
    port: int = Field(ge=1, le=65535, description="TCP port.", examples=[502])
    slave_address: int = Field(
        ge=0, le=255, description="Modbus unit id of the meter behind the endpoint.", examples=[1]
    )
    description: Text = Field(default="", max_length=255, description="Free text.", examples=["Main meter, garage"])
    user: Id = Field(description="The user the host belongs to (a member of the company).", examples=[1])
    location: Id = Field(description="The host's location (one of the user's).", examples=[1])
    meter: Id = Field(description="The meter model.", examples=[3])
    poll_interval_seconds: float = Field(
        default=DEFAULT_POLL_INTERVAL_SECONDS,
        ge=1,
        le=86400,
        description="How often the host is polled.",
        examples=[60],
    )


class HostResponse(WireModel):
    """A host and what the poller last saw of it."""

    id: int = Field(description="Host id.")
    ip: str = Field(description="IP address of the Modbus TCP endpoint.")
    port: int = Field(description="TCP port.")
    slave_address: int = Field(description="Modbus unit id.")
    description: str = Field(description="Free text.")
    user: int = Field(description="The user the host belongs to.")
    location: int = Field(description="The host's location.")
    meter: int = Field(description="The meter model.")
    poll_interval_seconds: float = Field(description="How often the host is polled.")
    status: HostStatus = Field(description="What the poller last saw of the host.")
    status_reason: str | None = Field(description="Why the host is stale (null otherwise).")
    status_changed_at: datetime | None = Field(description="When the status last changed (UTC), or null.")
    last_polled_at: datetime | None = Field(description="When the host last answered every register (UTC), or null.")


# ------------------------------------------------------------------ assigned measurements
class AssignMeasurementsRequest(WireModel):
    """Measurements to poll on a host."""

    measurements: list[MeasurementName] = Field(
        min_length=1,
        max_length=256,
        description="Measurement names; each needs a register on the host's meter model.",
        examples=[["active_energy_produced", "active_energy_consumed"]],
    )


class AssignedMeasurementResponse(WireModel):
    """A measurement polled on a host, and the series its readings go to."""

    id: int = Field(description="Assignment id.")
    host: int = Field(description="The host.")
    measurement: str = Field(description="The measurement.")
    series_id: int = Field(description="The series of its readings (GET /api/metering/series/{id}/readings).")


Scope = Literal["user", "admin"]
