"""The GGUF metadata reader on files hypothesis writes: what a well-formed header holds is read back exactly,
and anything else (cut short, corrupted, random) is a `NotGguf` with a sentence, never another exception."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.llm.gguf import NotGguf, read_header

PROPS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALIGN = 32

# GGUF value types: (type id, struct format, strategy of the values it holds exactly).
SCALARS = [
    (0, "<B", st.integers(0, 2**8 - 1)), (1, "<b", st.integers(-(2**7), 2**7 - 1)),
    (2, "<H", st.integers(0, 2**16 - 1)), (3, "<h", st.integers(-(2**15), 2**15 - 1)),
    (4, "<I", st.integers(0, 2**32 - 1)), (5, "<i", st.integers(-(2**31), 2**31 - 1)),
    (6, "<f", st.floats(width=32, allow_nan=False)), (7, "<?", st.booleans()),
    (10, "<Q", st.integers(0, 2**64 - 1)), (11, "<q", st.integers(-(2**63), 2**63 - 1)),
    (12, "<d", st.floats(allow_nan=False)),
]
STRING, ARRAY = 8, 9


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


@st.composite
def values(draw: st.DrawFn) -> tuple[bytes, Any]:
    """One typed value as GGUF bytes, and what the reader should make of it."""
    kind = draw(st.sampled_from(["scalar", "string", "array"]))
    if kind == "string":
        text = draw(st.text(max_size=40))
        return struct.pack("<I", STRING) + _string(text), text
    if kind == "scalar":
        tid, fmt, strategy = draw(st.sampled_from(SCALARS))
        value = draw(strategy)
        return struct.pack("<I", tid) + struct.pack(fmt, value), value
    # Arrays: short ones are kept, long ones (token lists) skipped and read as None.
    n = draw(st.integers(0, 24))
    if draw(st.booleans()):
        texts = draw(st.lists(st.text(max_size=8), min_size=n, max_size=n))
        body = struct.pack("<IQ", STRING, n) + b"".join(_string(t) for t in texts)
        return struct.pack("<I", ARRAY) + body, texts if n <= 16 else None
    tid, fmt, strategy = draw(st.sampled_from(SCALARS))
    items = draw(st.lists(strategy, min_size=n, max_size=n))
    body = struct.pack("<IQ", tid, n) + b"".join(struct.pack(fmt, v) for v in items)
    return struct.pack("<I", ARRAY) + body, items if n <= 16 else None


@st.composite
def headers(draw: st.DrawFn) -> tuple[bytes, dict[str, Any], int]:
    keys = draw(st.lists(st.text(min_size=1, max_size=30).filter(lambda k: k != "general.alignment"),
                         max_size=8, unique=True))
    version = draw(st.sampled_from([2, 3]))
    body = b""
    expected: dict[str, Any] = {}
    for key in keys:
        raw, value = draw(values())
        body += _string(key) + raw
        expected[key] = value
    data = b"GGUF" + struct.pack("<IQQ", version, 0, len(keys)) + body
    data += b"\0" * (-len(data) % ALIGN)  # no tensors: the file ends at the aligned start of its data
    return data, expected, version


def _read(data: bytes) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.gguf"
        path.write_bytes(data)
        return read_header(path)


def _types(value: Any) -> Any:
    return [_types(v) for v in value] if isinstance(value, list) else type(value)


@PROPS
@given(headers())
def test_a_well_formed_header_is_read_back_exactly(case: tuple[bytes, dict[str, Any], int]) -> None:
    data, expected, version = case
    header = _read(data)
    assert header.version == version and header.tensor_count == 0
    assert header.metadata == expected  # the same keys, in order, with the same values ...
    assert list(header.metadata) == list(expected)
    assert _types(list(header.metadata.values())) == _types(list(expected.values()))  # ... of the same types


@PROPS
@given(headers(), st.data())
def test_a_header_cut_short_anywhere_is_refused_as_truncated(case: tuple[bytes, dict[str, Any], int],
                                                               data: st.DataObject) -> None:
    whole = case[0]
    cut = data.draw(st.integers(0, len(whole) - 1))
    try:
        _read(whole[:cut])
    except NotGguf as exc:
        assert "truncated" in str(exc) or "GGUF signature" in str(exc)
    else:
        raise AssertionError(f"a file cut at byte {cut} of {len(whole)} was read as whole")


@PROPS
@given(headers(), st.data())
def test_corrupted_bytes_are_read_or_refused_with_a_sentence(case: tuple[bytes, dict[str, Any], int],
                                                             data: st.DataObject) -> None:
    raw = bytearray(case[0])
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        header = _read(bytes(raw))
    except NotGguf as exc:
        assert str(exc)
    else:
        assert header.version in (2, 3) and isinstance(header.metadata, dict)


@PROPS
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_are_a_header_or_not_gguf(tail: bytes, signed: bool) -> None:
    data = (b"GGUF" + struct.pack("<I", 3) + tail) if signed else tail
    try:
        _read(data)
    except NotGguf as exc:
        assert str(exc)
