"""Eastron SDM630 (3-phase) and SDM120 (1-phase) register maps ("SDM630 Modbus Protocol v2.0"): every
measurement is a float32 in two input registers (function code 4), most significant word first."""

from __future__ import annotations

from dataclasses import dataclass

from .decoding import DataType


@dataclass(frozen=True)
class RegisterSpec:
    measurement: str
    measurement_type: int  # 1 instantaneous, 2 cumulative
    address: int
    unit: str
    data_type: DataType = DataType.FLOAT
    function_code: int = 4


SDM630 = [
    RegisterSpec("voltage_l1", 1, 0x0000, "V"),
    RegisterSpec("voltage_l2", 1, 0x0002, "V"),
    RegisterSpec("voltage_l3", 1, 0x0004, "V"),
    RegisterSpec("current_l1", 1, 0x0006, "A"),
    RegisterSpec("current_l2", 1, 0x0008, "A"),
    RegisterSpec("current_l3", 1, 0x000A, "A"),
    RegisterSpec("active_power_l1", 1, 0x000C, "W"),
    RegisterSpec("active_power_l2", 1, 0x000E, "W"),
    RegisterSpec("active_power_l3", 1, 0x0010, "W"),
    RegisterSpec("active_power", 1, 0x0034, "W"),
    RegisterSpec("apparent_power", 1, 0x0038, "VA"),
    RegisterSpec("frequency", 1, 0x0046, "Hz"),
    RegisterSpec("active_energy_consumed", 2, 0x0048, "kWh"),
    RegisterSpec("active_energy_produced", 2, 0x004A, "kWh"),
]
SDM120 = [
    RegisterSpec("voltage_l1", 1, 0x0000, "V"),
    RegisterSpec("current_l1", 1, 0x0006, "A"),
    RegisterSpec("active_power", 1, 0x000C, "W"),
    RegisterSpec("apparent_power", 1, 0x0012, "VA"),
    RegisterSpec("frequency", 1, 0x0046, "Hz"),
    RegisterSpec("active_energy_consumed", 2, 0x0048, "kWh"),
    RegisterSpec("active_energy_produced", 2, 0x004A, "kWh"),
]
# meter model name -> (meter type: 1 single-directional, 2 bi-directional; its registers)
MODELS: dict[str, tuple[int, list[RegisterSpec]]] = {"sdm630": (2, SDM630), "sdm120": (2, SDM120)}
