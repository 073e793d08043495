"""The JSONL request parser on whatever hypothesis can make: it only ever answers with a request
or one of its documented errors (InvalidLine per line; InvalidInput for one request object)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.batch import MAX_DEPTH, InvalidLine, LongLine, Requests, loads, parse_lines
from shieldrec.errors import InvalidInput
from shieldrec.ranking.types import RankRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
# Fields with the names the parser looks for, holding values of every kind.
FIELDS = ["request_id", "instruction", "candidates", "history", "item_id", "id", "title", "text", "creator",
          "source", "url", "sponsored", "meta", "event", "rating", "at", "item", "platforms"]
shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
    | st.sampled_from(["liked", "rated", "", "\x1b[31m", "\u202e", "1e999"]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(FIELDS), children, max_size=7),
    max_leaves=40,
)
PROPS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_line(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@PROPS
@given(st.lists(st.binary(max_size=200) | shaped.map(as_line) | json_values.map(as_line), max_size=6))
def test_any_lines_give_requests_or_line_errors(lines: list[bytes]) -> None:
    parsed = parse_lines(lines)
    assert all(isinstance(e, InvalidLine) for e in parsed.errors)
    assert all(isinstance(r, RankRequest) for _, r in parsed.requests)
    numbers = [n for n, _ in parsed.requests] + [e.line for e in parsed.errors]
    assert len(numbers) == len(set(numbers)) and all(1 <= n <= len(lines) for n in numbers)


@PROPS
@given(shaped)
def test_any_request_object_parses_or_says_why(raw: Any) -> None:
    try:
        request = Requests().parse(raw)
    except InvalidInput as exc:
        assert str(exc)
        return
    ids = [c.item_id for c in request.candidates]
    assert len(ids) == len(set(ids)) and all(ids) and request.request_id


@PROPS
@given(st.integers(1, 3000), st.sampled_from(["[", '{"a":']), st.booleans())
def test_any_depth_is_a_value_or_the_nesting_error(depth: int, opener: str, closed: bool) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + (closer * depth if closed else "")
    try:
        loads(text.encode())
    except InvalidInput as exc:
        if closed:
            assert depth > MAX_DEPTH and f"nested more than {MAX_DEPTH} levels deep" in str(exc)
    else:
        assert closed and depth <= MAX_DEPTH


@given(st.integers(0, 10**12))
def test_an_over_long_line_is_an_error_however_long(size: int) -> None:
    parsed = parse_lines([LongLine(size)])
    assert [e.line for e in parsed.errors] == [1] and "longer than 16 MB" in str(parsed.errors[0])
