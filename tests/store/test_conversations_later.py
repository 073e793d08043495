"""Saved conversations (rename, delete, search, the request history), the watch list and disputed
reasons in the real SQLite store, and that an export carries them and an import restores them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shieldrec.errors import InvalidInput
from shieldrec.items import Item
from shieldrec.store import Profile, Store, load_profile_file
from shieldrec.store.conversations import Message
from shieldrec.store.disputes import Dispute
from shieldrec.store.later import LaterEntry


@pytest.fixture
def maya(store: Store, profiles_dir: Path) -> Profile:
    return store.import_profile(load_profile_file(profiles_dir / "maya.toml"))


def chat(store: Store, profile: Profile, asked: list[str], shown: list[str], at: float) -> int:
    cid = store.conversations.start(profile.id)
    for n, text in enumerate(asked):
        store.conversations.add(cid, Message(role="user", content=text, at=at + n))
        cards = [{"rank": 1, "item": {"id": f"{cid}-{title}", "title": title}} for title in shown]
        store.conversations.add(cid, Message(role="agent", content="ok", payload={"version": 1, "cards": cards},
                                             at=at + n))
    return cid


def test_conversations_are_found_by_title_request_or_a_title_they_showed(store: Store, maya: Profile) -> None:
    space = chat(store, maya, ["space adventure", "only books"], ["The Martian", "Solaris"], 1000)
    robots = chat(store, maya, ["a gentle film about robots"], ["WALL-E"], 2000)
    odd = chat(store, maya, ["100% fun_stuff"], ["Arrival"], 3000)
    other = store.create_profile("sam")
    chat(store, other, ["space adventure"], ["Solaris"], 4000)

    def ids(text: str) -> list[int]:
        return [c.id for c in store.conversations.search(maya.id, text)]

    assert ids("SPACE") == [space]  # case-insensitive, and only this profile's
    assert ids("books") == [space]  # a later request in it
    assert ids("wall-e") == [robots]  # a title it showed
    assert ids("solaris space") == [space] and ids("solaris robots") == []  # every word must match
    assert ids("100%") == [odd] and ids("n%f") == ids("fu_") == []  # LIKE wildcards are plain characters
    assert ids("") == [odd, robots, space]  # nothing typed: all, newest first


def test_a_broken_saved_payload_does_not_break_the_search(store: Store, maya: Profile) -> None:
    cid = store.conversations.start(maya.id)
    store.conversations.add(cid, Message(role="user", content="hi"))
    store.db.conn.execute("UPDATE messages SET payload = 'not json' WHERE conversation_id = ?", [cid])
    store.conversations.add(cid, Message(role="agent", content="x", payload={"cards": "not a list"}))
    assert [c.id for c in store.conversations.search(maya.id, "hi")] == [cid]
    assert store.conversations.search(maya.id, "list") == []


def test_rename_delete_and_the_request_history(store: Store, maya: Profile) -> None:
    first = chat(store, maya, ["space adventure", "only books"], [], 1000)
    second = chat(store, maya, ["space adventure", "something hopeful"], [], 2000)
    assert store.conversations.recent_inputs(maya.id) == ["something hopeful", "space adventure", "only books"]
    assert store.conversations.rename(maya.id, first, "  Saturday \x1b[31mnight ") == "Saturday night"
    assert store.conversations.get(maya.id, first).title == "Saturday night"
    with pytest.raises(InvalidInput):
        store.conversations.rename(maya.id, first, "   ")
    sam = store.create_profile("sam")
    with pytest.raises(InvalidInput):
        store.conversations.delete(sam.id, first)  # not sam's to delete
    store.conversations.delete(maya.id, second)
    assert [c.id for c in store.conversations.list(maya.id)] == [first]
    assert store.db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", [second]).fetchone()[0] == 0


def test_the_watch_list_keeps_a_snapshot_once_and_cleans_what_it_reads(store: Store, maya: Profile) -> None:
    item = Item.from_untrusted({"id": "m1", "title": "Arrival", "url": "https://example.org/arrival"},
                               platform="demo-movies")
    ident = store.later.add(maya.id, LaterEntry(item, "something hopeful", added_at=10))
    assert store.later.add(maya.id, LaterEntry(item, "again", added_at=20)) == ident  # once
    [entry] = store.later.list(maya.id)
    assert entry.item.title == "Arrival" and entry.instruction == "something hopeful"
    store.db.conn.execute("INSERT INTO watch_list (profile_id, item_id, item, added_at) VALUES (?, 'x', ?, 30)",
                          (maya.id, json.dumps({"id": "x", "title": "Evil \x1b]8;;http://e\x07link"})))
    store.db.conn.execute("INSERT INTO watch_list (profile_id, item_id, item, added_at) VALUES (?, 'y', 'nonsense', 40)",
                          (maya.id,))
    assert [e.item.title for e in store.later.list(maya.id)] == ["Evil link", "Arrival"]
    store.later.remove(maya.id, ident)
    assert store.later.ids(maya.id) == {"x", "y"}


def test_export_carries_the_watch_list_and_disputes_and_import_restores_them(store: Store, maya: Profile) -> None:
    item = Item.from_untrusted({"id": "m1", "title": "Arrival"}, platform="demo-movies")
    store.later.add(maya.id, LaterEntry(item, "hopeful", added_at=10))
    store.disputes.add(maya.id, Dispute("m1", "Arrival", "fits your interest in 'horror'", "hopeful", at=11))
    doc = store.export_profile("maya")
    assert doc["later"][0]["item"]["title"] == "Arrival" and doc["disputed_reasons"][0]["reason"].endswith("'horror'")
    copy = store.import_profile(doc, name="maya-copy")
    assert [e.item.title for e in store.later.list(copy.id)] == ["Arrival"]
    assert [d.reason for d in store.disputes.list(copy.id)] == ["fits your interest in 'horror'"]
    doc["later"] = [{"item": {"title": "no id"}}]
    with pytest.raises(InvalidInput, match="later entry 1"):
        store.import_profile(doc, name="broken")
    assert "broken" not in [p.name for p in store.profiles()]  # nothing half-imported
    store.forget("maya")
    assert store.db.execute("SELECT count(*) FROM watch_list").fetchone()[0] == 1  # only the copy's
    assert store.db.execute("SELECT count(*) FROM disputed_reasons").fetchone()[0] == 1
