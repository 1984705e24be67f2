"""Register decoding: every data type and both word orders against known register values and against a
reference (numpy-free, byte-level) over random inputs; the read plan's grouping; the value text."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metering_service.modbus.decoding import DataType, WordOrder, decode, encode, words
from metering_service.modbus.plan import MAX_REGISTERS_PER_REQUEST, Target, plan
from metering_service.modbus.poller import value_text

MSW, LSW = WordOrder.MSW_FIRST, WordOrder.LSW_FIRST


@pytest.mark.parametrize(
    ("registers", "data_type", "order", "expected"),
    [
        ([0x0000], DataType.INT, MSW, 0),
        ([0x7FFF], DataType.INT, MSW, 32767),
        ([0x8000], DataType.INT, MSW, -32768),
        ([0xFFFF], DataType.INT, LSW, -1),
        ([0x0001, 0x0000], DataType.LONG, MSW, 65536),
        ([0x0000, 0x0001], DataType.LONG, LSW, 65536),
        ([0xFFFF, 0xFFFE], DataType.LONG, MSW, -2),
        ([0xFFFE, 0xFFFF], DataType.LONG, LSW, -2),
        ([0x7FFF, 0xFFFF], DataType.LONG, MSW, 2**31 - 1),
        ([0x4366, 0x0000], DataType.FLOAT, MSW, 230.0),  # Eastron: 230 V, high word first
        ([0x0000, 0x4366], DataType.FLOAT, LSW, 230.0),
        ([0x447A, 0x0000], DataType.FLOAT, MSW, 1000.0),
        ([0xC2F6, 0xE979], DataType.FLOAT, MSW, struct.unpack(">f", bytes.fromhex("C2F6E979"))[0]),  # -123.456
        ([0x3F80, 0x0000], DataType.FLOAT, MSW, 1.0),
    ],
)
def test_known_values(registers: list[int], data_type: DataType, order: WordOrder, expected: float) -> None:
    assert decode(registers, data_type, order) == expected


def test_low_word_first_is_not_the_default_reading() -> None:
    # 230.0 sent MSW first decodes to something else when read LSW first (the bug not to copy)
    assert decode([0x4366, 0x0000], DataType.FLOAT, LSW) != 230.0


def test_wrong_register_count() -> None:
    with pytest.raises(ValueError):
        decode([1, 2], DataType.INT, MSW)
    with pytest.raises(ValueError):
        decode([1], DataType.FLOAT, MSW)


def _reference(registers: list[int], data_type: DataType, order: WordOrder) -> float:
    """Bytes assembled by hand: words in significance order, each big-endian."""
    ws = registers if order == MSW else registers[::-1]
    raw = bytes(b for w in ws for b in (w >> 8, w & 0xFF))
    if data_type == DataType.INT:
        return int.from_bytes(raw, "big", signed=True)
    if data_type == DataType.LONG:
        return int.from_bytes(raw, "big", signed=True)
    return struct.unpack(">f", raw)[0]  # type: ignore[no-any-return]


word = st.integers(0, 0xFFFF)


@given(st.sampled_from(list(DataType)), st.sampled_from(list(WordOrder)), st.lists(word, min_size=2, max_size=2))
def test_decode_against_reference(data_type: DataType, order: WordOrder, regs: list[int]) -> None:
    regs = regs[: words(data_type)]
    got, want = decode(regs, data_type, order), _reference(regs, data_type, order)
    assert got == want or (got != got and want != want)  # NaN == NaN


@given(st.sampled_from(list(WordOrder)), st.integers(-(2**31), 2**31 - 1), st.integers(-(2**15), 2**15 - 1))
def test_encode_roundtrip_integers(order: WordOrder, long_value: int, int_value: int) -> None:
    assert decode(encode(long_value, DataType.LONG, order), DataType.LONG, order) == long_value
    assert decode(encode(int_value, DataType.INT, order), DataType.INT, order) == int_value


@given(st.sampled_from(list(WordOrder)), st.floats(width=32, allow_nan=False))
def test_encode_roundtrip_floats_and_value_text(order: WordOrder, value: float) -> None:
    assert decode(encode(value, DataType.FLOAT, order), DataType.FLOAT, order) == value
    if value not in (float("inf"), float("-inf")):
        text = value_text(value, DataType.FLOAT)
        assert "e" not in text.lower()  # a plain decimal (the readings store refuses exponents)
        assert struct.pack(">f", float(text)) == struct.pack(">f", value)  # reads back as the same float32


def test_value_text_is_short() -> None:
    assert value_text(decode([0x4366, 0x6666], DataType.FLOAT, MSW), DataType.FLOAT) == "230.4"
    assert value_text(-5.0, DataType.LONG) == "-5"


def _t(address: int, data_type: DataType = DataType.FLOAT, fc: int = 4, sid: int = 0) -> Target:
    return Target(sid or address + 1, address, data_type, MSW, fc)


def test_plan_groups_contiguous_registers() -> None:
    reqs = plan([_t(0), _t(2), _t(4), _t(0x34), _t(0x48), _t(0x4A), _t(0, DataType.INT, fc=3)])
    assert [(r.function_code, r.address, r.count) for r in reqs] == [(3, 0, 1), (4, 0, 6), (4, 0x34, 2), (4, 0x48, 4)]
    gap = plan([_t(0), _t(4)], max_gap=2)
    assert [(r.address, r.count) for r in gap] == [(0, 6)]


@given(st.lists(st.tuples(st.integers(0, 600), st.sampled_from(list(DataType)), st.sampled_from([3, 4])), max_size=80))
def test_plan_covers_every_target_within_the_limit(specs: list[tuple[int, DataType, int]]) -> None:
    targets = [Target(i + 1, a, dt, MSW, fc) for i, (a, dt, fc) in enumerate(specs)]
    reqs = plan(targets)
    seen = sorted(t.series_id for r in reqs for t in r.targets)
    assert seen == sorted(t.series_id for t in targets)
    for r in reqs:
        assert 1 <= r.count <= MAX_REGISTERS_PER_REQUEST
        for t in r.targets:
            assert t.function_code == r.function_code and r.address <= t.address and t.end <= r.address + r.count
    # a value is decoded from the words at its place in the answer
    fake = {a: (a * 7919) & 0xFFFF for a in range(0, 700)}
    for r in reqs:
        answer = [fake[a] for a in range(r.address, r.address + r.count)]
        for (sid, value), t in zip(r.values(answer), r.targets, strict=True):
            expect = decode([fake[a] for a in range(t.address, t.end)], t.data_type, t.word_order)
            assert sid == t.series_id and (value == expect or value != value)


@given(
    st.floats(0, 1e6),
    st.floats(0, 1e4),
    st.floats(0.5, 3600),
    st.integers(0, 80),
    st.floats(1, 600),
)
def test_next_due_against_reference(due: float, late: float, interval: float, failures: int, backoff: float) -> None:
    from metering_service.modbus.poller import next_due

    now = due + late
    got = next_due(due, now, interval, failures, backoff)
    if failures:
        assert got == now + min(interval * 2 ** min(failures - 1, 60), backoff)
        return
    # reference: walk the grid slot by slot
    k = 1
    while due + k * interval <= now:
        k += 1
    assert got > now and abs(got - (due + k * interval)) <= 1e-6 * max(1.0, got)
