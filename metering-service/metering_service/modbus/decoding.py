"""Register values as numbers: INT (int16, 1 register), LONG (int32, 2), FLOAT (IEEE-754 float32, 2).

A register is a 16-bit word sent big-endian on the wire; a two-register value comes most significant
word first (Eastron's default) unless its register says otherwise. Decoded one value at a time with
``struct`` (pymodbus' ``convert_from_registers`` with ``word_order="little"`` reverses the whole list).
"""

from __future__ import annotations

import math
import struct
from enum import IntEnum, StrEnum

MAX_ADDRESS = 0xFFFF  # the 16-bit register address space


class DataType(IntEnum):
    INT = 1  # int16, 1 register
    LONG = 2  # int32, 2 registers
    FLOAT = 3  # float32, 2 registers


class WordOrder(StrEnum):
    MSW_FIRST = "msw_first"  # most significant word first (big-endian words, Eastron's default)
    LSW_FIRST = "lsw_first"  # least significant word first


WORDS = {DataType.INT: 1, DataType.LONG: 2, DataType.FLOAT: 2}
_FORMAT = {DataType.INT: ">h", DataType.LONG: ">i", DataType.FLOAT: ">f"}


def words(data_type: DataType | int) -> int:
    return WORDS[DataType(data_type)]


def decode(registers: list[int] | tuple[int, ...], data_type: DataType | int, word_order: WordOrder | str) -> float:
    """The value held by ``registers`` (exactly ``words(data_type)`` 16-bit words)."""
    dt = DataType(data_type)
    if len(registers) != WORDS[dt]:
        raise ValueError(f"{dt.name} needs {WORDS[dt]} registers, got {len(registers)}")
    ordered = list(registers) if WordOrder(word_order) == WordOrder.MSW_FIRST else list(reversed(registers))
    raw = b"".join(struct.pack(">H", r & 0xFFFF) for r in ordered)
    return struct.unpack(_FORMAT[dt], raw)[0]  # type: ignore[no-any-return]


def encode(value: float, data_type: DataType | int, word_order: WordOrder | str) -> list[int]:
    """The registers a device sends for ``value`` (the inverse of ``decode``; the simulator's side)."""
    dt = DataType(data_type)
    raw = struct.pack(_FORMAT[dt], value if dt == DataType.FLOAT else int(value))
    regs = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return regs if WordOrder(word_order) == WordOrder.MSW_FIRST else list(reversed(regs))


def is_finite(value: float) -> bool:
    """A float32 register may hold NaN or an infinity (a device's "no value"): such a value is not stored."""
    return math.isfinite(value)
