"""Simulated Eastron meters: a Modbus TCP server (pymodbus) answering SDM630/SDM120-like input registers
with plausible values computed at read time: active power with a daily shape (low at night, a midday
peak), voltages around 230 V, currents from the power, 50 Hz, and monotonic energy counters.

    python -m metering_service.modbus.simulator --port 15020 [--port 15021 ...] [--ports 20000:20999] [--model sdm630]

Used by the tests, by ``make run``'s demo host and by the benchmark (one server per port; every slave
address answers). ``silence()`` makes an instance stop answering (requests hang, as behind a dead
link) until ``resume()``; ``reset_energy()`` starts its counters again from zero (a replaced meter).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from .decoding import DataType, WordOrder, encode
from .sdm import MODELS

INPUT_REGISTERS = 0x0180  # words served from address 0 (the SDM630 map ends below 0x0170)


def daily_power(at: float, peak_watts: float = 3000.0) -> float:
    """Active power (W) at unix time ``at``: a base load plus a bell around 13:00 UTC."""
    hour = (at % 86400) / 3600
    return 150.0 + peak_watts * math.exp(-(((hour - 13.0) / 3.5) ** 2))


@dataclass
class SimulatedMeter:
    """One simulated meter on 127.0.0.1:``port`` (``port=0``: a free port, known after ``start``)."""

    port: int = 0
    model: str = "sdm630"
    host: str = "127.0.0.1"
    energy_kwh: float = 1000.0  # the import counter at start
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    _server: ModbusTcpServer | None = None
    _last: float = field(default_factory=time.time)
    _export_kwh: float = 10.0

    def values(self, at: float) -> dict[int, float]:
        """Register address -> value at unix time ``at`` (advances the energy counters)."""
        power = daily_power(at)
        dt_h = max(0.0, at - self._last) / 3600
        self._last = at
        self.energy_kwh += power * dt_h / 1000
        self._export_kwh += 0.1 * power * dt_h / 1000
        phase = 2 * math.pi * (at % 60) / 60
        out: dict[int, float] = {}
        for spec in MODELS[self.model][1]:
            name = spec.measurement
            if name.startswith("voltage"):
                out[spec.address] = 230.0 + 2.0 * math.sin(phase + spec.address)
            elif name.startswith("current"):
                out[spec.address] = power / 3 / 230.0
            elif name.startswith("active_power_l"):
                out[spec.address] = power / 3
            elif name == "active_power":
                out[spec.address] = power
            elif name == "apparent_power":
                out[spec.address] = power / 0.95
            elif name == "frequency":
                out[spec.address] = 50.0 + 0.02 * math.sin(phase)
            elif name == "active_energy_consumed":
                out[spec.address] = self.energy_kwh
            elif name == "active_energy_produced":
                out[spec.address] = self._export_kwh
        return out

    def reset_energy(self) -> None:
        self.energy_kwh = 0.0
        self._export_kwh = 0.0

    def silence(self) -> None:
        self.answering.clear()

    def resume(self) -> None:
        self.answering.set()

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        await self.answering.wait()  # silenced: the request hangs (the client times out)
        self.requests += 1
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # read-only meter
        words = [0] * INPUT_REGISTERS
        for reg, value in self.values(time.time()).items():
            words[reg : reg + 2] = encode(value, DataType.FLOAT, WordOrder.MSW_FIRST)
        base = address - start_address
        current_registers[base : base + count] = words[address : address + count]
        return None

    async def start(self) -> None:
        self.answering.set()
        blocks = [SimData(0, count=INPUT_REGISTERS, values=0, datatype=SimType.REGISTERS)]
        device = SimDevice(
            0,
            simdata=(
                [SimData(0, values=False, datatype=SimType.BITS)],
                [SimData(0, values=False, datatype=SimType.BITS)],
                [SimData(0, count=INPUT_REGISTERS, values=0, datatype=SimType.REGISTERS)],
                blocks,
            ),
            action=self._action,
        )
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        if self.port == 0:
            self.port = self._server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self.answering.set()  # let hanging requests end
        if self._server is not None:
            await self._server.shutdown()
            self._server = None


async def serve(ports: list[int], model: str) -> None:
    meters = [SimulatedMeter(port=p, model=model) for p in ports]
    for m in meters:
        await m.start()
    shown = ", ".join(str(m.port) for m in meters[:5]) + (f" ... ({len(meters)} meters)" if len(meters) > 5 else "")
    print(f"simulated {model} meters on 127.0.0.1 ports {shown}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for m in meters:
            await m.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, action="append", default=[], help="TCP port (repeatable)")
    parser.add_argument("--ports", default="", help="a range of ports FIRST:LAST (inclusive), one meter each")
    parser.add_argument("--model", choices=sorted(MODELS), default="sdm630")
    args = parser.parse_args(argv)
    ports = list(args.port)
    if args.ports:
        first, last = (int(p) for p in args.ports.split(":"))
        ports += range(first, last + 1)
    if not ports:
        parser.error("give --port or --ports")
    asyncio.run(serve(ports, args.model))


if __name__ == "__main__":
    main()
