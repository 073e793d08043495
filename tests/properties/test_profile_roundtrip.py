"""Export, then import: the same profile, for any profile hypothesis can build through the store and the
feedback paths (hostile text included). What comes back out is what went in, field for field."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.agent import feedback
from shieldrec.errors import InvalidInput
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig
from shieldrec.store.conversations import Message
from shieldrec.sanitize import clean_text

PROPS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = ["\x1b[31m", "\u202e", "\x00", "\U000e0041", "\r\n", "é", "👨‍👩‍👧", "'", '"', "\\", "]]", "#", "="]
texts = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE)), max_size=6).map("".join)
names = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
items = st.builds(
    lambda i, title, text, creator, genres, sponsored: Item.from_untrusted(
        {"id": f"i{i}", "title": f"T{title}", "text": text, "creator": creator, "sponsored": sponsored,
         "meta": {"genres": genres}}, platform="shop"),
    st.integers(0, 30), texts, texts, texts, st.lists(texts, max_size=3), st.booleans())
preferences = st.builds(
    lambda kind, target, value, weight, origin: Preference.from_untrusted(
        {"kind": kind, "target": target, "value": f"v{value}", "weight": weight, "origin": origin}),
    st.sampled_from(["like", "avoid", "block"]), st.sampled_from(["topic", "creator", "item", "source"]), texts,
    st.floats(0.0, 1.0), st.sampled_from(["stated", "learned"]))
events = st.builds(
    lambda item, event, rating, instruction, at: HistoryEvent.from_untrusted(
        {"event": event, "instruction": instruction, "rating": rating if event == "rated" else None, "at": at},
        item=item),
    items, st.sampled_from(["liked", "disliked", "consumed", "not_now", "rated"]), st.integers(1, 5).map(float),
    texts, times)
payloads = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | texts,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                        max_leaves=8)
conversations = st.tuples(texts, st.lists(st.tuples(st.sampled_from(["user", "agent"]), texts,
                                                    st.dictionaries(names, payloads, max_size=2), times), max_size=4))
profiles = st.fixed_dictionaries({
    "about": texts,
    "preferences": st.lists(preferences, max_size=5),
    "history": st.lists(events, max_size=6),
    "platforms": st.lists(st.tuples(names, st.sampled_from(["http-json", "rss", "file", "demo"]),
                                    st.dictionaries(names, payloads, max_size=3), st.booleans()),
                          max_size=3, unique_by=lambda p: p[0]),
    "conversations": st.lists(conversations, max_size=2),
    "later": st.lists(st.tuples(items, texts), max_size=3, unique_by=lambda e: e[0].item_id),
    "disputes": st.lists(st.tuples(items, texts.map(lambda t: f"r{t}"), texts), max_size=2),
})


def _build(store: Store, spec: dict[str, Any]) -> str:
    """The profile through the ways in the app uses: text is cleaned where the app cleans it."""
    profile = store.create_profile("ana", clean_text(spec["about"], 2000))
    for pref in spec["preferences"]:
        store.add_preference(profile, pref)
    for event in spec["history"]:
        store.add_event(profile, event)
    for name, adapter, config, enabled in spec["platforms"]:
        store.platforms.save(profile.id, PlatformConfig(name=name, adapter=adapter, settings=config, enabled=enabled))
    for title, messages in spec["conversations"]:
        cid = store.conversations.start(profile.id, clean_text(title, 200))
        for role, content, payload, at in messages:
            store.conversations.add(cid, Message(role=role, content=clean_text(content, 20000, multiline=True),
                                                 payload=payload, at=at))
    for item, instruction in spec["later"]:
        feedback.toggle_later(store, profile, item, instruction)
    for item, reason, instruction in spec["disputes"]:
        feedback.record_dispute(store, profile, item, reason, instruction)
    return profile.name


@PROPS
@given(profiles)
def test_export_then_import_gives_the_same_profile(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "profiles.db")
        try:
            try:
                name = _build(store, spec)
            except InvalidInput:
                return  # something the store itself refuses (an empty reason, say): not a profile to export
            exported = store.export_profile(name)
            # Through the file format, as `profile export` writes it and `profile import` reads it.
            document = json.loads(json.dumps(exported, ensure_ascii=False))
            store.import_profile(document, name="copy")
            again = store.export_profile("copy")
            assert again["profile"] == {**exported["profile"], "name": "copy"}
            for key in exported:
                if key != "profile":
                    assert again[key] == exported[key], key
            # And into a fresh database, under its own name, replacing nothing.
            other = Store(Path(tmp) / "other.db")
            try:
                other.import_profile(document)
                assert other.export_profile(name) == exported
            finally:
                other.close()
        finally:
            store.close()
