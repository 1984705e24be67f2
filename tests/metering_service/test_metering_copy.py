"""The ingestion write path's shortcuts hold to the rules they replace (hypothesis):

- the append path's COPY in text format stores what asyncpg's binary COPY of the checked values
  stores (the instant, the value with its scale), whether the time text is passed as sent
  (``is_plain_instant``) or formatted from the parsed instant;
- the slicing test of ``is_plain_instant`` and the regex-free decimal rule of ``parse_value`` give
  the verdicts of the regular expressions they replace;
- the Kafka door's merge of a fetch (concatenation when the messages' keys follow one another) is
  the batches applied in turn.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gridcommons.quantity import DECIMAL_PATTERN
from metering_service.readings.parsing import check_items
from metering_service.readings.repository import copy_text
from metering_service.readings.schemas import is_plain_instant, parse_instant, parse_value
from metering_service.readings.service import Resolved, merge


@st.composite
def instant_texts(draw: Any) -> str:
    """An instant as a sender may write it: any offset, separator, fraction."""
    utc = draw(st.datetimes(min_value=datetime(1901, 1, 2), max_value=datetime(9998, 12, 30))).replace(tzinfo=UTC)
    minutes = draw(st.sampled_from([0, 0, 60, 120, -300, 330, 345, -570, 840, -720, 17]))
    local = utc + timedelta(minutes=minutes)
    sep = draw(st.sampled_from(["T", "T", "t", " "]))
    frac = draw(st.sampled_from(["", "", f".{local.microsecond:06d}", f".{local.microsecond // 1000:03d}"]))
    if not frac:
        local = local.replace(microsecond=0)
    sign = "-" if minutes < 0 else "+"
    offset = (
        draw(st.sampled_from(["Z", "+00:00"]))
        if minutes == 0
        else f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    )
    return f"{local:%Y-%m-%d}{sep}{local:%H:%M:%S}{frac}{offset}"


values = st.one_of(
    st.integers(0, 18).flatmap(
        lambda places: st.decimals(min_value=-(10**19), max_value=10**19, places=places).map(lambda d: format(d, "f"))
    ),
    st.integers(-(10**19), 10**19),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from(["0", "-0", "12.000", "0.000000000000000001", "99999999999999999999.999999999999999999", "007.50"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(instant_texts(), values), min_size=1, max_size=40))
async def test_text_copy_stores_what_binary_copy_stores(db: asyncpg.Connection, rows: list[tuple[str, Any]]) -> None:
    items = []
    for text, value in rows:
        try:
            parse_value(value)
        except ValueError:
            continue  # refused before any write (a float with too many digits): not this test's matter
        items.append({"series_id": 1, "time": text, "value": value})
    assume(items)
    checked = check_items(items, ["readings"])
    assert checked.time_texts == [t if is_plain_instant(t) else None for t in (i["time"] for i in items)]
    qualities = [3] * len(checked)
    async with db.transaction():
        for table in ("as_text", "as_binary"):
            await db.execute(
                f"CREATE TEMPORARY TABLE {table} (series_id bigint, ts timestamptz, value numeric, quality smallint) "
                "ON COMMIT DROP"
            )
        data = copy_text(checked.series_ids, checked.times, checked.values, qualities, checked.time_texts)

        async def source() -> Any:
            yield data

        await db.copy_to_table("as_text", source=source())
        await db.copy_records_to_table(
            "as_binary", records=zip(checked.series_ids, checked.times, checked.values, qualities, strict=True)
        )
        query = "SELECT series_id, ts, value::text, quality FROM {} ORDER BY ts, value::text"
        as_text = await db.fetch(query.format("as_text"))
        as_binary = await db.fetch(query.format("as_binary"))
    assert [tuple(r) for r in as_text] == [tuple(r) for r in as_binary]
    assert sorted(r["ts"] for r in as_text) == sorted(parse_instant(i["time"]) for i in items)


_REFERENCE_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_STRICT_PLAIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})")


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        instant_texts(),
        instant_texts().flatmap(
            lambda t: st.tuples(st.integers(0, len(t) - 1), st.sampled_from(list("0a:-+ TZ.٣\n"))).map(
                lambda m: t[: m[0]] + m[1] + t[m[0] + 1 :]
            )
        ),
        st.text(alphabet="0123456789-:TZ+ .", min_size=18, max_size=26),
    )
)
def test_plain_instants_are_what_the_regular_expressions_accept(text: str) -> None:
    if is_plain_instant(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return  # refused by parse_instant all the same
        assert _STRICT_PLAIN.fullmatch(text) and _REFERENCE_INSTANT.match(text), text


_REFERENCE_DECIMAL = re.compile(DECIMAL_PATTERN.removeprefix("^").removesuffix("$"))


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="0123456789.-+e \n_٣", max_size=42))
def test_decimal_texts_get_the_pattern_s_verdict(text: str) -> None:
    try:
        value = parse_value(text)
    except ValueError:
        value = None
    assert (value is not None) == bool(_REFERENCE_DECIMAL.fullmatch(text)), text
    if value is not None:
        assert value == Decimal(text)


def _resolved(rows: list[tuple[int, int, int, int]]) -> Resolved:
    keyed = {(s, k): (v, q) for s, k, v, q in rows}  # one batch: distinct keys, sorted
    out = Resolved(received=len(rows), time_texts=[])
    for (s, k), (v, q) in sorted(keyed.items()):
        t = T0 + k * Q
        out.series_ids.append(s)
        out.times.append(t)
        out.values.append(Decimal(v))
        out.qualities.append(q)
        out.time_texts.append(t.isoformat().replace("+00:00", "Z"))  # type: ignore[union-attr]
    return out


T0 = datetime(2026, 4, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
batch_rows = st.lists(
    st.tuples(st.integers(1, 3), st.integers(0, 8), st.integers(-2, 2), st.integers(1, 4)), min_size=1, max_size=10
)


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(batch_rows, min_size=2, max_size=5), ordered=st.booleans())
def test_merged_batches_are_the_batches_applied_in_turn(batches: list[Any], ordered: bool) -> None:
    """The Kafka door writes a fetch's messages as one batch: the last best quality per key wins, and
    messages whose keys follow one another are simply concatenated (texts kept)."""
    if ordered:  # messages of successive meters: keys follow one another
        batches = [[(s + 10 * i, k, v, q) for s, k, v, q in rows] for i, rows in enumerate(batches)]
    resolved = [_resolved(rows) for rows in batches]
    merged = merge(resolved)
    expected: dict[tuple[int, datetime], tuple[Decimal, int]] = {}
    for r in resolved:  # the upsert rule, batch after batch
        for s, t, v, q in zip(r.series_ids, r.times, r.values, r.qualities, strict=True):
            if (s, t) not in expected or q >= expected[(s, t)][1]:
                expected[(s, t)] = (v, q)
    got = list(zip(merged.series_ids, merged.times, merged.values, merged.qualities, strict=True))
    assert got == [(s, t, v, q) for (s, t), (v, q) in sorted(expected.items())]
    assert merged.received == sum(r.received for r in resolved)
    if ordered:
        assert merged.time_texts == [t.isoformat().replace("+00:00", "Z") for t in merged.times]
