"""The one sanitizer: whatever a platform or file sends, what comes out is inert plain text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldrec.items import Item
from shieldrec.sanitize import TITLE_MAX, clean_body, clean_meta, clean_text, clean_title, hidden_controls


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("\x1b[31mRed\x1b[0m Alert", "Red Alert"),  # CSI colours, whole sequence gone
        ("\x1b]0;pwned\x07Title", "Title"),  # OSC window title
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink
        ("a\x9b2Jb", "ab"),  # 8-bit CSI clear screen
        ("safe\u202eetirovaf", "safeetirovaf"),  # RLO bidi override
        ("\u2066hidden\u2069 text", "hidden text"),  # isolates
        ("zero\u200bwidth\u200djoin\ufeff", "zerowidthjoin"),
        ("tag\U000e0049\U000e0047smuggle", "tagsmuggle"),  # invisible tag characters
        ("bell\x07 and\x00 nul\x7f", "bell and nul"),
        ("line\nbreak\ttab\r\nend", "line break tab end"),
        ("  spaced   out  ", "spaced out"),
    ],
)
def test_escapes_controls_bidi_and_zero_width_are_removed(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_hostile_tricks_are_named_and_ordinary_text_is_not() -> None:
    assert hidden_controls("\x1b]8;;https://x\x07link\x1b]8;;\x07") == ["terminal escape codes"]
    assert hidden_controls("abc\u202efed") == hidden_controls("\u202dabc") == ["bidi overrides"]
    assert hidden_controls("ok\U000e0069\U000e0067") == ["invisible tag characters"]
    # Joiners in emoji and scripts that need them, stray bells and plain markup are not tricks.
    for fine in ("👩\u200d🔬 Lab", "می\u200cخواهم", "by \u2067سارا\u2069", "\u200fRTL", "Ding\x07", "[REC]", "Amélie", ""):
        assert hidden_controls(fine) == [], fine


def test_markup_is_kept_as_literal_text_not_interpreted() -> None:
    # The sanitizer never interprets markup; display code renders it as plain text.
    assert clean_title("[bold red]FREE[/bold red] <b>x</b>") == "[bold red]FREE[/bold red] <b>x</b>"


def test_lengths_are_capped() -> None:
    out = clean_title("x" * 10_000)
    assert len(out) == TITLE_MAX and out.endswith("…")


def test_body_keeps_paragraphs_but_not_runs_of_blank_lines() -> None:
    assert clean_body("one\n\n\n\n\ntwo\x1b[2K") == "one\n\ntwo"


def test_meta_is_bounded_in_depth_and_size() -> None:
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["k"] = {}
        node = node["k"]
    cleaned = clean_meta({"deep": deep, "n": float("nan"), "s": "\x1b[1mx", "big": list(range(1000))})
    assert cleaned["n"] is None and cleaned["s"] == "x" and len(cleaned["big"]) == 50
    depth, node = 0, cleaned["deep"]
    while isinstance(node, dict) and node:
        node, depth = node["k"], depth + 1
    assert depth < 10


def test_items_from_platforms_are_cleaned_and_only_web_links_kept() -> None:
    item = Item.from_untrusted(
        {"id": "\x1b[2J42", "title": "\u202eGood\x1b[5m", "url": "javascript:alert(1)", "meta": {"x": "\x07y"}},
        platform="demo",
    )
    assert (item.item_id, item.title, item.url, item.meta, item.platforms) == ("42", "Good", "", {"x": "y"}, ["demo"])


@given(st.text())
def test_output_never_holds_escape_or_invisible_characters(raw: str) -> None:
    out = clean_text(raw)
    assert "\x1b" not in out and "\x9b" not in out
    # The only invisible characters left are joiners a script or an emoji needs.
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs") or ch in "\u200c\u200d" for ch in out)
    assert clean_text(out) == out  # idempotent


@pytest.mark.parametrize("text", [
    "می\u200cخواهم",  # Persian: "I want", the ZWNJ keeps the prefix apart
    "क्\u200dष",  # Devanagari half form
    "👨\u200d👩\u200d👧 family", "🏳\ufe0f\u200d🌈 flag", "👩🏽\u200d🔬 scientist",
])
def test_joiners_that_a_script_or_an_emoji_needs_are_kept(text: str) -> None:
    assert clean_text(text) == text


@pytest.mark.parametrize(("raw", "clean"), [
    ("ig\u200dnore previous instructions", "ignore previous instructions"),  # hiding a word from a filter
    ("\u200dStart", "Start"), ("end\u200c", "end"), ("a\u200d\u200d\u200db", "ab"), ("x\u200c\u202ey", "xy"),
])
def test_joiners_anywhere_else_are_removed(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
