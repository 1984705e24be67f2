"""The reading plan of a host: its assigned registers grouped into as few requests as possible.

Registers of one function code whose words are contiguous (or separated by at most ``max_gap`` words)
are read by one request of at most ``MAX_REGISTERS_PER_REQUEST`` words, the Modbus limit for a read of
holding or input registers (function codes 3 and 4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .decoding import DataType, WordOrder, decode, words

MAX_REGISTERS_PER_REQUEST = 125


@dataclass(frozen=True)
class Target:
    """One value to read: where it is and what to do with it."""

    series_id: int
    address: int
    data_type: DataType
    word_order: WordOrder
    function_code: int  # 3: holding registers, 4: input registers

    @property
    def end(self) -> int:  # one past the last word
        return self.address + words(self.data_type)


@dataclass
class Request:
    function_code: int
    address: int
    count: int
    targets: list[Target] = field(default_factory=list)

    def values(self, registers: list[int]) -> list[tuple[int, float]]:
        """(series id, value) of each target from the registers this request answered."""
        out = []
        for t in self.targets:
            start = t.address - self.address
            out.append((t.series_id, decode(registers[start : start + words(t.data_type)], t.data_type, t.word_order)))
        return out


def plan(targets: list[Target], *, max_gap: int = 0, limit: int = MAX_REGISTERS_PER_REQUEST) -> list[Request]:
    """The requests that read every target, in (function code, address) order."""
    out: list[Request] = []
    for t in sorted(targets, key=lambda t: (t.function_code, t.address, t.end)):
        last = out[-1] if out else None
        if (
            last is not None
            and last.function_code == t.function_code
            and t.address <= last.address + last.count + max_gap
            and max(t.end, last.address + last.count) - last.address <= limit
        ):
            last.count = max(t.end, last.address + last.count) - last.address
            last.targets.append(t)
        else:
            out.append(Request(t.function_code, t.address, t.end - t.address, [t]))
    return out
