"""Property suites for what users and platforms can hand ShieldRec: whatever profile document,
text or instruction arrives, the only failures are the documented error types, and cleaned
text never holds a control, bidi-override or tag character."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.errors import InvalidInput, ProfileExists
from shieldrec.intent import Intent
from shieldrec.ranking.constraints import parse_instruction
from shieldrec.sanitize import clean_body, clean_meta, clean_text
from shieldrec.store import Store, parse_profile_bytes, parse_profile_document

# Characters that attack a terminal or a reader, mixed into ordinary text.
HOSTILE = ["\x1b[31m", "\x1b]8;;http://x\x07", "\x9b2J", "\x00", "\x07", "\x7f", "\u202e", "\u202d", "\u2066",
           "\u2069", "\u200b", "\u200d", "\u200c", "\ufeff", "\U000e0041", "\U000e007f", "\ud800", "\r\n",
           "\u0301", "👨", "🏳\ufe0f", "می", "क्", "A", " ", "\n"]
texts = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=30).map("".join)

BIDI_OVERRIDES = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _is_tag(ch: str) -> bool:
    return 0xE0000 <= ord(ch) <= 0xE007F


@settings(deadline=None)
@given(raw=texts, limit=st.integers(1, 500), multiline=st.booleans())
def test_cleaned_text_holds_no_control_bidi_override_or_tag_character(raw: str, limit: int, multiline: bool) -> None:
    out = clean_text(raw, limit, multiline=multiline)
    assert len(out) <= limit
    for ch in out:
        assert ch == "\n" or unicodedata.category(ch) != "Cc", repr(ch)
        assert ch not in BIDI_OVERRIDES and not _is_tag(ch), repr(ch)
        if unicodedata.category(ch) == "Cf":
            assert ch in "\u200c\u200d", repr(ch)  # only joiners a script or an emoji needs
    assert "\n" not in out or multiline
    assert clean_text(out, limit, multiline=multiline) == out


@settings(deadline=None)
@given(raw=texts)
def test_every_joiner_left_sits_between_two_visible_characters(raw: str) -> None:
    out = clean_body(raw)
    for i, ch in enumerate(out):
        if ch in "\u200c\u200d":
            assert 0 < i < len(out) - 1
            assert unicodedata.category(out[i - 1]) not in ("Cc", "Cf", "Zs")
            assert unicodedata.category(out[i + 1]) not in ("Cc", "Cf", "Zs")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


@settings(deadline=None)
@given(value=json_values)
def test_cleaned_metadata_is_bounded_json_with_clean_strings(value: Any) -> None:
    out = clean_meta(value)
    json.dumps(out, allow_nan=False)  # finite numbers, text keys: always serialisable

    def walk(node: Any) -> None:
        if isinstance(node, str):
            assert node == clean_text(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, float):
            assert math.isfinite(node)

    walk(out)


# -- profile import ------------------------------------------------------------------------

FIELDS = ["format", "version", "profile", "name", "about", "created_at", "preferences", "history", "platforms",
          "conversations", "kind", "target", "value", "weight", "origin", "item", "item_id", "title", "event",
          "rating", "at", "meta", "settings", "adapter", "messages", "role", "content", "payload", "url"]
keys = st.one_of(st.sampled_from(FIELDS), texts)
documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
              st.sampled_from(["like", "avoid", "block", "topic", "creator", "liked", "rated", "user", "agent",
                               "shieldrec-profile", "demo", "rss", "x"]), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(documents, st.fixed_dictionaries({"profile": st.fixed_dictionaries({"name": st.sampled_from(
    ["ana", "x"])})}, optional={"preferences": documents, "history": documents, "platforms": documents,
                                "conversations": documents})))
def test_any_profile_document_imports_whole_or_is_refused_with_invalid_input(store: Store, doc: Any) -> None:
    before = {p.name for p in store.profiles()}
    try:
        parse_profile_document(doc)
        imported = store.import_profile(doc, replace=True)
    except (InvalidInput, ProfileExists):
        assert {p.name for p in store.profiles()} == before  # nothing half-imported
        return
    again = store.export_profile(imported.name)
    assert parse_profile_document(again)["name"] == imported.name  # what went in comes out readable


@settings(deadline=None)
@given(raw=st.one_of(st.binary(max_size=300), texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                     documents.map(lambda d: json.dumps(d, default=str).encode())),
       kind=st.sampled_from(["json", "toml"]))
def test_any_bytes_parse_or_give_invalid_input(raw: bytes, kind: str) -> None:
    try:
        parse_profile_bytes(raw, kind, "the file")
    except InvalidInput as exc:
        assert str(exc).startswith("the file")


# -- the instruction parser ----------------------------------------------------------------

phrases = st.sampled_from(["no horror", "not by Stephenie Meyer", "under 2 hours", "after 1990", "from the 80s",
                           "something hopeful", "only books", "funny", "nothing violent", "shorter than 90 min",
                           "no no no", "not by", "under", "between 1990 and", "99999999999999999999 hours"])
instructions = st.lists(st.one_of(phrases, texts), max_size=6).map(", ".join)


@settings(deadline=None)
@given(text=instructions)
def test_the_instruction_parser_reads_anything_into_a_well_formed_intent(text: str) -> None:
    intent = parse_instruction(text)
    assert isinstance(intent, Intent)
    for group in (intent.wanted, intent.avoided, intent.exclude_creators):
        assert all(isinstance(x, str) and x == clean_text(x) for x in group)
    for limit in (intent.max_minutes, intent.min_year, intent.max_year):
        assert limit is None or (isinstance(limit, (int, float)) and math.isfinite(limit))
    assert parse_instruction(text).to_dict() == intent.to_dict()  # the same reading every time
