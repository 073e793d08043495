"""The two SQLite settings the README promises, by what they do: a deleted row leaves no bytes behind in the
file (`secure_delete`), and a write that meets another process's write lock waits for it instead of failing
(`busy_timeout`)."""

from __future__ import annotations

import sqlite3
import threading
import time

from shieldrec.items import Preference
from shieldrec.store import Store
from shieldrec.store.db import BUSY_TIMEOUT_MS

MARK = "zqxjvw-secret-marker-" * 20  # long enough to sit in a page of its own bytes


def test_a_deleted_row_is_overwritten_in_the_file(store: Store) -> None:
    assert store.db.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    ana = store.create_profile("ana")
    pref_id = store.add_preference(ana, Preference(kind="like", target="topic", value=MARK))
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARK.encode() in store.path.read_bytes()  # written to the file itself
    store.remove_preference(ana, pref_id)
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # No VACUUM here: the freed space itself was zeroed.
    assert MARK[:40].encode() not in store.path.read_bytes()


def test_a_write_waits_for_another_writers_lock(store: Store) -> None:
    assert store.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    ana = store.create_profile("ana")
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock ...
    started = threading.Event()

    def release_soon() -> None:
        started.wait(10)
        time.sleep(0.3)  # ... for a moment after our write began (a hold, not a wait for a result)
        other.execute("COMMIT")

    thread = threading.Thread(target=release_soon)
    thread.start()
    try:
        started.set()
        store.add_preference(ana, Preference(kind="like", target="topic", value="sea stories"))
    finally:
        thread.join(10)
        other.close()
    assert [p.value for p in store.preferences(ana)] == ["sea stories"]  # it waited, then wrote
