"""A platform's answer, whatever it is: parsed into clean items with a note for each one left out, or refused
with a `PlatformError` that names the platform. Items a well-behaved platform sends all come through."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.errors import PlatformError
from shieldrec.items import Item
from shieldrec.platforms.egress import Response
from shieldrec.platforms.responses import MAX_DEPTH, items_from, parse_json
from shieldrec.sanitize import clean_text, clean_title

PROPS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = ["\x1b[2J", "\u202e", "\x00", "\U000e0041", "\r\n", "👨‍👩‍👧", "<script>", "", " "]
texts = st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE))
FIELDS = ["items", "id", "title", "description", "creator", "url", "sponsored", "meta", "genres", "data"]
answers = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(FIELDS) | texts, inner, max_size=6),
    max_leaves=30,
)
# What an honest catalogue holds: letters, digits, punctuation and spaces, each title with something to read.
printable = st.characters(categories=["L", "N", "P", "Zs"])
honest_items = st.lists(st.fixed_dictionaries(
    {"id": st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12),
     "title": st.text(printable, min_size=1, max_size=40).filter(str.strip)},
    optional={"description": st.text(printable, max_size=80), "creator": st.text(printable, max_size=20),
              "sponsored": st.booleans()},
), max_size=12, unique_by=lambda d: d["id"])


def _response(body: bytes, status: int = 200) -> Response:
    return Response(platform="shop", status=status, url="http://127.0.0.1:9/recs", content_type="application/json",
                    body=body)


def _is_clean(item: Item) -> bool:
    return (item.item_id == clean_text(item.item_id, 200) and item.title == clean_title(item.title)
            and item.creator == clean_text(item.creator))


@PROPS
@given(st.one_of(st.binary(max_size=200), answers.map(lambda a: json.dumps(a).encode())),
       st.sampled_from([200, 200, 200, 204, 301, 401, 404, 429, 500]))
def test_any_answer_is_items_or_a_platform_error(body: bytes, status: int) -> None:
    try:
        data = parse_json(_response(body, status))
        items, skipped = items_from(data, platform="shop")
    except PlatformError as exc:
        assert str(exc).startswith("shop:")
        return
    assert status < 400
    assert all(isinstance(i, Item) and i.item_id and _is_clean(i) for i in items)
    assert all(isinstance(note, str) and note for note in skipped)
    found = data["items"]
    assert len(items) + len([n for n in skipped if n.startswith("item ")]) == len(found)


@PROPS
@given(st.integers(1, 200), st.sampled_from(["[", '{"items":']))
def test_nesting_past_the_limit_is_refused_however_deep(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    body = (opener * depth + "1" + closer * depth).encode()
    try:
        parse_json(_response(body))
    except PlatformError as exc:
        assert depth > MAX_DEPTH and "nested too deeply" in str(exc)
    else:
        assert depth <= MAX_DEPTH


@PROPS
@given(honest_items)
def test_every_item_an_honest_platform_sends_comes_through(sent: list[dict[str, Any]]) -> None:
    data = parse_json(_response(json.dumps({"items": sent}).encode()))
    if not sent:
        assert items_from(data, platform="shop") == ([], [])
        return
    items, skipped = items_from(data, platform="shop")
    assert skipped == []
    assert [i.item_id for i in items] == [clean_text(d["id"], 200) for d in sent]
    assert [i.title for i in items] == [clean_title(d["title"]) for d in sent]
    assert [i.sponsored for i in items] == [bool(d.get("sponsored", False)) for d in sent]
