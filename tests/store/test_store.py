"""The private profile database: schema, round trips, forgetting, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from shieldrec.errors import InvalidInput, ProfileExists, ProfileNotFound
from shieldrec.items import HistoryEvent, Preference
from shieldrec.store import Store, load_profile_file
from shieldrec.store.db import open_db
from shieldrec.store.migrations import migrations
from shieldrec.store.platform_configs import PlatformConfig

CANARY = "zq-canary-7f3a91"


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_migrations_create_schema_from_empty_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    db = open_db(path)
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]
    db.conn.close()
    assert {"profiles", "preferences", "history", "platforms", "audit", "embeddings", "messages"} <= _tables(path)

    db = open_db(path)  # second open: nothing pending, nothing re-applied
    assert migrations.pending(db) == []
    assert [m.name for m in migrations.applied(db)] == applied
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.conn.close()


def test_database_file_is_private(store: Store) -> None:
    assert store.path.stat().st_mode & 0o077 == 0


def test_several_named_profiles_and_clear_errors(store: Store) -> None:
    store.create_profile("ana")
    store.create_profile("ben")
    assert [p.name for p in store.profiles()] == ["ana", "ben"]
    with pytest.raises(ProfileExists):
        store.create_profile("ana")
    with pytest.raises(ProfileNotFound, match="ana, ben"):
        store.profile("carla")
    with pytest.raises(InvalidInput):
        store.create_profile("../etc/passwd")


def test_persona_export_import_round_trip_is_equal(store: Store, profiles_dir: Path) -> None:
    store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
    p = store.profile("maya")
    store.platforms.save(p.id, PlatformConfig(name="news", adapter="rss", settings={"url": "https://example.org/feed"}))
    conv = store.conversations.start(p.id)
    from shieldrec.store.conversations import Message

    store.conversations.add(conv, Message(role="user", content="something hopeful"))
    store.conversations.add(conv, Message(role="agent", content="3 results", payload={"ranking": ["movie-1"]}))

    exported = store.export_profile("maya")
    store.import_profile(json.loads(json.dumps(exported)), name="maya-copy")
    again = store.export_profile("maya-copy")
    again["profile"]["name"] = "maya"
    assert again == exported
    assert len(exported["preferences"]) == 6 and len(exported["history"]) == 5


def test_import_of_a_bad_document_writes_nothing(store: Store) -> None:
    doc = {
        "profile": {"name": "eve"},
        "preferences": [{"kind": "like", "value": "jazz"}],
        "history": [
            {"item_id": "a", "title": "Fine", "event": "liked"},
            {"item_id": "b", "title": "Broken", "event": "exploded"},
        ],
    }
    with pytest.raises(InvalidInput, match="history entry 2"):
        store.import_profile(doc)
    assert store.profiles() == []
    assert store.db["preferences"].count == 0


@pytest.mark.parametrize(
    "content, message",
    [
        ("not [valid toml", "not valid TOML"),
        ("[profile]\nname = 'x'\n[[preferences]]\nkind = 'adore'\nvalue = 'y'\n", "preferences entry 1"),
        ("[profile]\nname = 'x'\n[[history]]\ntitle = 'no id'\n", "item_id"),
        ("[profile]\nname = 'x'\n[[preferences]]\nkind = 'like'\nvalue = 'y'\nweight = 'heavy'\n", "weight"),
    ],
)
def test_bad_profile_files_give_clear_errors(store: Store, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        store.import_profile(load_profile_file(path))
    assert store.profiles() == []


def test_imported_text_is_sanitized(store: Store) -> None:
    store.import_profile({
        "profile": {"name": "eve"},
        "history": [{"item_id": "x", "title": "\x1b[31mRed\x1b[0m \u202eevil", "event": "liked"}],
    })
    (ev,) = store.history(store.profile("eve"))
    assert ev.item.title == "Red evil"


def test_forget_leaves_no_trace_of_the_profile_in_the_file(store: Store) -> None:
    p = store.create_profile("forgetme", about=f"about {CANARY}")
    store.add_preference(p, Preference(kind="like", target="topic", value=f"likes {CANARY}"))
    for i in range(200):  # enough rows to spread over many pages
        store.add_event(p, HistoryEvent.from_untrusted(
            {"item_id": f"{CANARY}-{i}", "title": f"Title {CANARY} {i}", "text": f"{CANARY} " * 20, "event": "liked"}
        ))
    store.platforms.save(p.id, PlatformConfig(name=f"p-{CANARY}", adapter="rss", settings={"url": CANARY}))
    store.audit.record(profile_id=p.id, platform="demo", method="GET", url=f"http://x/{CANARY}", params={}, bytes_out=0)
    vec = np.ones(4, dtype=np.float32)
    store.embeddings.put_many("m", [(store.embeddings.key(f"likes {CANARY}"), vec)])
    keeper = store.create_profile("keeper")
    store.add_event(keeper, HistoryEvent.from_untrusted({"item_id": "k", "title": "Kept title", "event": "liked"}))

    store.forget("forgetme")

    with pytest.raises(ProfileNotFound):
        store.profile("forgetme")
    assert store.embeddings.get_many("m", [store.embeddings.key(f"likes {CANARY}")]) == {}
    files = [store.path, *store.path.parent.glob(store.path.name + "-*")]  # the WAL and shm too
    blob = b"".join(f.read_bytes() for f in files if f.exists())
    assert CANARY.encode() not in blob
    assert b"Kept title" in blob  # the other profile is untouched
    assert [e.item.title for e in store.history(store.profile("keeper"))] == ["Kept title"]


def test_platform_settings_refuse_secrets(store: Store) -> None:
    p = store.create_profile("ana")
    with pytest.raises(InvalidInput, match="keyring|login"):
        store.platforms.save(p.id, PlatformConfig(name="x", adapter="http-json", settings={"api_token": "s3cret"}))
    assert store.platforms.list(p.id) == []


def test_embedding_cache_round_trip(store: Store) -> None:
    vecs = {store.embeddings.key(t): np.random.default_rng(0).random(8).astype(np.float32) for t in ("a", "b")}
    store.embeddings.put_many("mini", vecs.items())
    got = store.embeddings.get_many("mini", list(vecs) + [store.embeddings.key("missing")])
    assert set(got) == set(vecs)
    for h, v in vecs.items():
        np.testing.assert_array_equal(got[h], v)
    assert store.embeddings.get_many("other-model", list(vecs)) == {}


def test_a_corrupt_database_is_reported_not_crashed(tmp_path: Path) -> None:
    from shieldrec.store.db import CorruptDatabase

    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CorruptDatabase, match="move it aside"):
        Store(path)


def test_learning_from_a_like_weighs_the_whole_history_by_each_items_latest_feedback(store: Store) -> None:
    from shieldrec.agent.feedback import record_event
    from shieldrec.items import Item

    events = [{"item_id": f"c{n}", "title": f"Comedy {n}", "event": "liked", "at": 1000.0 + n,
               "meta": {"genres": ["Comedy"]}} for n in range(2000)]
    # Changed their mind about the first hundred: their latest word is what counts.
    events += [{"item_id": f"c{n}", "title": f"Comedy {n}", "event": "disliked", "at": 5000.0 + n,
                "meta": {"genres": ["Comedy"]}} for n in range(100)]
    profile = store.import_profile({"profile": {"name": "fan"}, "history": events})
    fb = record_event(store, profile, Item(item_id="new", title="New Comedy", meta={"genres": ["Comedy"]}), "like")
    [change] = fb.learned
    assert change.preference.value == "comedy" and change.preference.weight == 0.9
    assert change.preference.evidence == "liked 'New Comedy', 'Comedy 1999' and 'Comedy 1998' and 1898 more"
