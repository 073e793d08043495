"""Opening the profile database: one function, used by everything that touches it."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from shieldrec.errors import ShieldRecError
from shieldrec.paths import ensure_dir, get_paths
from shieldrec.store.migrations import migrations

BUSY_TIMEOUT_MS = 5000


class CorruptDatabase(ShieldRecError):
    pass


def open_db(path: Path | None = None) -> Database:
    """Open (creating if needed) the profile database and bring its schema up to date."""
    path = path or get_paths().database
    ensure_dir(path.parent)
    new = not path.exists()
    # Workers (TUI) share the connection; the store serialises writes with its own lock.
    conn = sqlite3.connect(
        str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    if new:
        os.chmod(path, 0o600)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten on disk, so 'forget' leaves nothing in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        db = Database(conn)
        if db.journal_mode != "wal":
            db.enable_wal()
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CorruptDatabase(
            f"the profile database at {path} cannot be read ({exc}); "
            "move it aside and run the command again to start a fresh one"
        ) from exc
    db.lock = threading.RLock()  # type: ignore[attr-defined]
    return db


@contextmanager
def tx(db: Database) -> Iterator[sqlite3.Connection]:
    """One transaction (a savepoint when nested), held under the store's lock across threads."""
    with db.lock, db.atomic():  # type: ignore[attr-defined]
        yield db.conn
